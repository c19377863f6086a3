import { render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { CommentList } from './Comments';

const author = { username: 'ann', displayName: 'Ann' };
const base = { videoId: 'abcdefghijk', createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), edited: false };

function json(body: unknown, status = 200) {
  return new Response(JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
}

function setup(handler: (req: Request) => Response | Promise<Response>) {
  const fetchMock = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => handler(input instanceof Request ? input : new Request(new URL(String(input), 'http://localhost'), init)));
  vi.stubGlobal('fetch', fetchMock);
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  return { fetchMock, qc };
}

function renderList(qc: QueryClient, signedIn: boolean) {
  return render(
    <QueryClientProvider client={qc}>
      <MemoryRouter>
        <CommentList videoId="abcdefghijk" signedIn={signedIn} count={2} />
      </MemoryRouter>
    </QueryClientProvider>,
  );
}

afterEach(() => vi.unstubAllGlobals());

describe('CommentList', () => {
  it('shows comments and loads replies on demand', async () => {
    const { qc } = setup((req) => {
      const u = new URL(req.url);
      if (u.searchParams.get('parentId') === 'c1') return json({ comments: [{ ...base, id: 'r1', parentId: 'c1', author: { username: 'bob', displayName: 'Bob' }, body: 'A reply', replyCount: 0 }] });
      return json({ comments: [{ ...base, id: 'c1', author, body: 'First!', replyCount: 1, edited: true }] });
    });
    renderList(qc, false);
    expect(await screen.findByText('First!')).toBeInTheDocument();
    expect(screen.getByText(/\(edited\)/)).toBeInTheDocument();
    expect(screen.getByText(/Sign in/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: '1 reply' }));
    const reply = await screen.findByText('A reply');
    expect(within(reply.closest('li')!).getByText('Bob')).toBeInTheDocument();
  });

  it('says so when there are no comments, and posts one', async () => {
    let posted: unknown = null;
    const { qc } = setup(async (req) => {
      if (req.method === 'POST') {
        posted = await req.json();
        return json({ ...base, id: 'c2', author, body: 'Nice', replyCount: 0 }, 201);
      }
      return json({ comments: posted ? [{ ...base, id: 'c2', author, body: 'Nice', replyCount: 0 }] : [] });
    });
    renderList(qc, true);
    expect(await screen.findByText(/No comments yet/)).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Add a comment'), 'Nice');
    await userEvent.click(screen.getByRole('button', { name: 'Comment' }));
    expect(await screen.findByText('Nice')).toBeInTheDocument();
    expect(posted).toEqual({ body: 'Nice' });
  });

  it('shows the API error message when posting fails', async () => {
    const { qc } = setup((req) =>
      req.method === 'POST' ? json({ error: { code: 'invalid_request', message: 'comments may not be empty' } }, 400) : json({ comments: [] }),
    );
    renderList(qc, true);
    await userEvent.type(await screen.findByLabelText('Add a comment'), 'x');
    await userEvent.click(screen.getByRole('button', { name: 'Comment' }));
    expect(await screen.findByText('comments may not be empty')).toBeInTheDocument();
  });
});
