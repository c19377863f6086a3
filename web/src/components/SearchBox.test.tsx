import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { useLocation } from 'react-router-dom';
import { describe, expect, it } from 'vitest';
import { json, renderPage, stubFetch } from '../test/harness';
import SearchBox from './SearchBox';

/** Where the app is, to see where the box went. */
function Location() {
  const loc = useLocation();
  return <output data-testid="location">{loc.pathname + loc.search}</output>;
}

/** renderBox answers every search with the two uploads and returns the queries the box sent. */
function renderBox() {
  const queries: URLSearchParams[] = [];
  stubFetch((req, path) => {
    if (path !== '/api/v1/search') return json({ error: { code: 'not_found', message: 'no' } }, 404);
    const q = new URL(req.url).searchParams;
    queries.push(q);
    const videos = [
      { id: 'vidMAPLE001', title: 'Autumn maple tree swaying in the wind' },
      { id: 'vidCOFFEE01', title: 'Coffee cup on a wooden desk' },
    ].filter((v) => v.title.toLowerCase().includes((q.get('q') ?? '').slice(0, 3)));
    return json({ videos });
  });
  renderPage(
    <>
      <SearchBox />
      <Location />
    </>,
  );
  return queries;
}

describe('Search box', () => {
  it('suggests once typing pauses, with one request for the settled text', async () => {
    const queries = renderBox();
    await userEvent.type(screen.getByLabelText('Search videos'), 'mapel tre');
    expect(await screen.findByRole('option', { name: 'Autumn maple tree swaying in the wind' })).toBeInTheDocument();
    // Typed without pausing, the box asks for what settled, not for each keystroke (eight of
    // them have two letters or more).
    expect(queries.length).toBeLessThan(8);
    expect(queries.at(-1)?.get('q')).toBe('mapel tre');
    expect(queries.at(-1)?.get('limit')).toBe('6');
  });

  it("opens a suggestion's watch page", async () => {
    renderBox();
    await userEvent.type(screen.getByLabelText('Search videos'), 'coffe');
    await userEvent.click(await screen.findByRole('option', { name: 'Coffee cup on a wooden desk' }));
    expect(screen.getByTestId('location')).toHaveTextContent('/watch/vidCOFFEE01');
  });

  it('searches on Enter', async () => {
    renderBox();
    await userEvent.type(screen.getByLabelText('Search videos'), 'wodden desk{Enter}');
    expect(screen.getByTestId('location')).toHaveTextContent('/search?q=wodden%20desk');
  });

  it('asks nothing for a single letter', async () => {
    const queries = renderBox();
    await userEvent.type(screen.getByLabelText('Search videos'), 'm');
    await new Promise((r) => setTimeout(r, 400));
    expect(queries).toHaveLength(0);
    expect(screen.queryByRole('option')).not.toBeInTheDocument();
  });
});
