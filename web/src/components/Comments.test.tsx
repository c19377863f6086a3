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

  it('lets the author edit a comment, which then reads "edited"', async () => {
    let body = 'Frist!';
    let edited = false;
    const sent: unknown[] = [];
    stubFetch(async (req, path) => {
      if (req.method === 'PATCH' && path === '/api/v1/comments/c1') {
        sent.push(await req.json());
        body = 'First!';
        edited = true;
        return json({ ...base, id: 'c1', author, body, replyCount: 0, edited });
      }
      return json({ comments: [{ ...base, id: 'c1', author, body, replyCount: 0, edited }] });
    });
    renderPage(<CommentList videoId="abcdefghijk" signedIn viewer={{ username: 'ann', moderator: false }} />, '/', { auth: false });
    await userEvent.click(await screen.findByRole('button', { name: 'Edit your comment' }));
    const field = screen.getByLabelText('Edit your comment');
    await userEvent.clear(field);
    await userEvent.type(field, 'First!');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('First!')).toBeInTheDocument();
    expect(screen.getByText(/\(edited\)/)).toBeInTheDocument();
    expect(sent).toEqual([{ body: 'First!' }]);
    // Not the author's to report.
    expect(screen.queryByRole('button', { name: /^Report/ })).toBeNull();
  });

  it("deletes the author's comment after asking", async () => {
    let comments = [{ ...base, id: 'c1', author, body: 'Oops', replyCount: 0 }];
    const deleted: string[] = [];
    stubFetch((req, path) => {
      if (req.method === 'DELETE') {
        deleted.push(path);
        comments = [];
        return new Response(null, { status: 204 });
      }
      return json({ comments });
    });
    renderPage(<CommentList videoId="abcdefghijk" signedIn viewer={{ username: 'ann', moderator: false }} />, '/', { auth: false });
    await userEvent.click(await screen.findByRole('button', { name: 'Delete your comment' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete your comment?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    expect(await screen.findByText(/No comments yet/)).toBeInTheDocument();
    expect(deleted).toEqual(['/api/v1/comments/c1']);
  });

  it('lets moderators and the video owner remove any comment, and no one else', async () => {
    stubFetch((req) =>
      new URL(req.url).pathname === '/api/v1/me/reports'
        ? json({ reports: [] })
        : json({ comments: [{ ...base, id: 'c1', author, body: 'Spam', replyCount: 0 }] }),
    );
    const { unmount } = renderPage(<CommentList videoId="abcdefghijk" signedIn viewer={{ username: 'mo', moderator: true }} />, '/', { auth: false });
    expect(await screen.findByRole('button', { name: 'Remove the comment by Ann' })).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Edit your comment' })).toBeNull();
    unmount();
    const owner = renderPage(<CommentList videoId="abcdefghijk" signedIn viewer={{ username: 'olga', moderator: false }} videoOwner="olga" />, '/', {
      auth: false,
    });
    expect(await screen.findByRole('button', { name: 'Remove the comment by Ann' })).toBeInTheDocument();
    owner.unmount();
    renderPage(<CommentList videoId="abcdefghijk" signedIn viewer={{ username: 'bob', moderator: false }} videoOwner="olga" />, '/', { auth: false });
    expect(await screen.findByText('Spam')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /^Remove/ })).toBeNull();
  });

  it('reports a comment with a reason and note, then says it was reported', async () => {
    let reports: unknown[] = [];
    const sent: unknown[] = [];
    stubFetch(async (req, path) => {
      if (path === '/api/v1/me/reports') return json({ reports });
      if (path === '/api/v1/reports') {
        const b = await req.json();
        sent.push(b);
        reports = [{ id: '1', targetType: 'comment', targetId: 'c1', reason: b.reason, createdAt: base.createdAt }];
        return json(reports[0], 201);
      }
      return json({ comments: [{ ...base, id: 'c1', author, body: 'Buy now', replyCount: 0 }] });
    });
    renderPage(<CommentList videoId="abcdefghijk" signedIn viewer={{ username: 'bob', moderator: false }} />, '/', { auth: false });
    await userEvent.click(await screen.findByRole('button', { name: 'Report the comment by Ann' }));
    const dialog = screen.getByRole('dialog', { name: 'Report the comment by Ann' });
    expect(within(dialog).getByRole('button', { name: 'Send report' })).toBeDisabled();
    await userEvent.click(within(dialog).getByLabelText('Spam or scam'));
    await userEvent.type(within(dialog).getByLabelText('Details (optional)'), 'a link farm');
    await userEvent.click(within(dialog).getByRole('button', { name: 'Send report' }));
    expect(await within(dialog).findByText(/Your report was sent to the moderators/)).toBeInTheDocument();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Close' }));
    expect(await screen.findByRole('button', { name: 'You reported this' })).toBeDisabled();
    expect(sent).toEqual([{ targetType: 'comment', targetId: 'c1', reason: 'spam', note: 'a link farm' }]);
  });

  it('shows a report refused by the rate limit as sentences', async () => {
    stubFetch((_req, path) => {
      if (path === '/api/v1/me/reports') return json({ reports: [] });
      if (path === '/api/v1/reports')
        return new Response(
          JSON.stringify({ error: { code: 'rate_limited', message: 'you may make at most 10 reports an hour; try again in 1800 seconds' } }),
          {
            status: 429,
            headers: { 'Content-Type': 'application/json', 'Retry-After': '1800' },
          },
        );
      return json({ comments: [{ ...base, id: 'c1', author, body: 'Meh', replyCount: 0 }] });
    });
    renderPage(<CommentList videoId="abcdefghijk" signedIn viewer={{ username: 'bob', moderator: false }} />, '/', { auth: false });
    await userEvent.click(await screen.findByRole('button', { name: 'Report the comment by Ann' }));
    await userEvent.click(screen.getByLabelText('Something else'));
    await userEvent.click(screen.getByRole('button', { name: 'Send report' }));
    expect(await screen.findByText('You may make at most 10 reports an hour. Try again in 30 minutes.')).toBeInTheDocument();
  });
});
