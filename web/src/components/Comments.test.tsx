import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { json, renderPage, stubFetch } from '../test/harness';
import { CommentList } from './Comments';

const author = { username: 'ann', displayName: 'Ann' };
const base = { videoId: 'abcdefghijk', createdAt: new Date().toISOString(), updatedAt: new Date().toISOString(), edited: false };

// CommentList takes signedIn as a prop, so it renders without the AuthProvider.
const renderList = (signedIn: boolean) => renderPage(<CommentList videoId="abcdefghijk" signedIn={signedIn} count={2} />, '/', { auth: false });

afterEach(() => vi.unstubAllGlobals());

describe('CommentList', () => {
  it('shows comments and loads replies on demand', async () => {
    stubFetch((req) => {
      const u = new URL(req.url);
      if (u.searchParams.get('parentId') === 'c1')
        return json({ comments: [{ ...base, id: 'r1', parentId: 'c1', author: { username: 'bob', displayName: 'Bob' }, body: 'A reply', replyCount: 0 }] });
      return json({ comments: [{ ...base, id: 'c1', author, body: 'First!', replyCount: 1, edited: true }] });
    });
    renderList(false);
    expect(await screen.findByText('First!')).toBeInTheDocument();
    expect(screen.getByText(/\(edited\)/)).toBeInTheDocument();
    expect(screen.getByText(/Sign in/)).toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: '1 reply' }));
    const reply = await screen.findByText('A reply');
    expect(within(reply.closest('li')!).getByText('Bob')).toBeInTheDocument();
  });

  it('says so when there are no comments, and posts one', async () => {
    let posted: unknown = null;
    stubFetch(async (req) => {
      if (req.method === 'POST') {
        posted = await req.json();
        return json({ ...base, id: 'c2', author, body: 'Nice', replyCount: 0 }, 201);
      }
      return json({ comments: posted ? [{ ...base, id: 'c2', author, body: 'Nice', replyCount: 0 }] : [] });
    });
    renderList(true);
    expect(await screen.findByText(/No comments yet/)).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('Add a comment'), 'Nice');
    await userEvent.click(screen.getByRole('button', { name: 'Comment' }));
    expect(await screen.findByText('Nice')).toBeInTheDocument();
    expect(posted).toEqual({ body: 'Nice' });
  });

  it('shows the API error message when posting fails', async () => {
    stubFetch((req) =>
      req.method === 'POST' ? json({ error: { code: 'invalid_request', message: 'comments may not be empty' } }, 400) : json({ comments: [] }),
    );
    renderList(true);
    await userEvent.type(await screen.findByLabelText('Add a comment'), 'x');
    await userEvent.click(screen.getByRole('button', { name: 'Comment' }));
    expect(await screen.findByText('comments may not be empty')).toBeInTheDocument();
  });
});
