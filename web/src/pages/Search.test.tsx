import { act, cleanup, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Video } from '../api/client';
import { json, renderPage, stubFetch } from '../test/harness';
import Search from './Search';

const now = new Date().toISOString();
const cats: Video = {
  id: 'vidCATS0001',
  title: 'Cats on a piano',
  description: '',
  tags: [],
  visibility: 'public',
  status: 'ready',
  owner: { username: 'ann', displayName: 'Ann' },
  stats: { views: 10, likes: 0, dislikes: 0, comments: 0 },
  durationSeconds: 95,
  createdAt: now,
  updatedAt: now,
  publishedAt: now,
};

/** Where the page's URL is, for the filters kept in it. */
function Location() {
  return <output data-testid="location">{useLocation().search}</output>;
}

/** renderSearch answers every search with results and returns the queries the page sent. */
function renderSearch(path: string, results: Video[]) {
  const queries: URLSearchParams[] = [];
  stubFetch((req, p) => {
    if (p !== '/api/v1/search') return json({ error: { code: 'not_found', message: 'no' } }, 404);
    queries.push(new URL(req.url).searchParams);
    return json({ videos: results });
  });
  renderPage(
    <>
      <Search />
      <Location />
    </>,
    path,
  );
  return queries;
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('Search', () => {
  it('searches with the filters in the URL, and a changed filter goes into the URL and a new search', async () => {
    const queries = renderSearch('/search?q=cats&duration=short', [cats]);
    const results = await screen.findByRole('list', { name: 'Search results' });
    expect(await within(results).findByText('Cats on a piano')).toBeInTheDocument();
    expect(screen.getByRole('heading', { name: 'Results for “cats”' })).toBeInTheDocument();
    expect(Object.fromEntries(queries[0])).toMatchObject({ q: 'cats', duration: 'short', sort: 'relevance' });
    expect(queries[0].has('uploaded')).toBe(false);

    await userEvent.click(screen.getByRole('combobox', { name: 'Upload date' }));
    await userEvent.click(screen.getByRole('option', { name: 'This week' }));
    await vi.waitFor(() => expect(queries).toHaveLength(2));
    expect(Object.fromEntries(queries[1])).toMatchObject({ q: 'cats', duration: 'short', uploaded: 'week' });
    expect(new URLSearchParams(screen.getByTestId('location').textContent!).get('uploaded')).toBe('week');

    // "Any length" takes the filter out again.
    await userEvent.click(screen.getByRole('combobox', { name: 'Duration' }));
    await userEvent.click(screen.getByRole('option', { name: 'Any length' }));
    await vi.waitFor(() => expect(queries).toHaveLength(3));
    expect(queries[2].has('duration')).toBe(false);
    expect(screen.getByTestId('location').textContent).not.toContain('duration');
  });

  it('says so when nothing matches', async () => {
    renderSearch('/search?q=zebras', []);
    expect(await screen.findByText('No videos match “zebras”. Try other words or fewer filters.')).toBeInTheDocument();
  });

  it('asks for words, and sends nothing, without a query', async () => {
    const queries = renderSearch('/search', [cats]);
    expect(screen.getByText('Type words in the search box above.')).toBeInTheDocument();
    await act(() => new Promise((r) => setTimeout(r, 50)));
    expect(queries).toHaveLength(0);
  });
});
