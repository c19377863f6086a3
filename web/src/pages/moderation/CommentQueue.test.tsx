import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { json, renderPage, stubFetch, signedInDuringEachTest } from '../../test/harness';
import CommentQueue from './CommentQueue';
import type { CommentQueueItem } from './shared';
import { comment, moderator, record, targetReports, type Call } from './testdata';

const heldItem: CommentQueueItem = {
  comment: comment('11', 'join my giveaway', { held: true }),
  videoId: 'vidAAAAAAAA',
  videoTitle: 'Talk',
  held: true,
  reports: {},
};
const reported: CommentQueueItem = {
  comment: comment('12', 'you are all wrong'),
  videoId: 'vidAAAAAAAA',
  videoTitle: 'Talk',
  held: false,
  reports: { harassment: 2, spam: 1 },
};

function renderComments(items: CommentQueueItem[], decision: () => Response = () => new Response(null, { status: 204 })) {
  const calls: Call[] = [];
  stubFetch(async (req, path) => {
    const call = await record(req, path);
    calls.push(call);
    if (path.endsWith('/auth/me')) return json(moderator);
    if (path === '/api/v1/moderation/comments') return json({ items });
    if (path === '/api/v1/moderation/comments/12/reports') return json({ reports: targetReports });
    if (req.method === 'POST' && path.endsWith('/decision')) return decision();
    return json({ error: { code: 'not_found', message: 'no such thing' } }, 404);
  });
  renderPage(<CommentQueue />, '/moderation?tab=comments');
  return calls;
}

const decisions = (calls: Call[]) => calls.filter((c) => c.method === 'POST');

async function itemSaying(body: string) {
  return (await screen.findByText(body)).closest('li')!;
}

signedInDuringEachTest();

describe('Comment queue', () => {
  it('lists held and reported comments with their video and reasons', async () => {
    renderComments([heldItem, reported]);
    const held = await itemSaying('join my giveaway');
    expect(within(held).getByText('held by the term policy')).toBeInTheDocument();
    expect(within(held).getByRole('link', { name: 'Talk' })).toHaveAttribute('href', '/watch/vidAAAAAAAA');
    expect(within(held).queryByRole('button', { name: /Show reports/ })).not.toBeInTheDocument();
    const rude = await itemSaying('you are all wrong');
    expect(within(rude).getByText(/@bea · .* · on/)).toBeInTheDocument();
    expect(within(rude).getByText('harassment: 2')).toBeInTheDocument();
    expect(within(rude).getByText('spam: 1')).toBeInTheDocument();
  });

  it("shows a comment's reports with the reporters' standing", async () => {
    renderComments([reported]);
    const rude = await itemSaying('you are all wrong');
    await userEvent.click(within(rude).getByRole('button', { name: 'Show reports (3)' }));
    const reports = await within(rude).findByRole('list', { name: 'Reports of this comment' });
    expect(within(reports).getAllByRole('listitem')).toHaveLength(3);
    expect(within(reports).getByText('same network as 2 other reports')).toBeInTheDocument();
  });

  it('publishes a held comment', async () => {
    const calls = renderComments([heldItem], () => json(heldItem.comment));
    const held = await itemSaying('join my giveaway');
    await userEvent.click(within(held).getByRole('button', { name: 'Publish' }));
    await vi.waitFor(() => expect(decisions(calls)).toHaveLength(1));
    expect(decisions(calls)[0]).toMatchObject({ path: '/api/v1/moderation/comments/11/decision', body: { action: 'approve' } });
  });

  it('dismisses the reports of a comment, or removes it with a note', async () => {
    const calls = renderComments([reported], () => json(reported.comment));
    const rude = await itemSaying('you are all wrong');
    await userEvent.click(within(rude).getByRole('button', { name: 'Dismiss reports' }));
    await vi.waitFor(() => expect(decisions(calls)).toHaveLength(1));
    expect(decisions(calls)[0]).toMatchObject({ path: '/api/v1/moderation/comments/12/decision', body: { action: 'approve' } });
    await userEvent.type(within(rude).getByLabelText('Note'), 'abuse');
    await userEvent.click(within(rude).getByRole('button', { name: 'Remove comment' }));
    await vi.waitFor(() => expect(decisions(calls)).toHaveLength(2));
    expect(decisions(calls)[1]).toMatchObject({ path: '/api/v1/moderation/comments/12/decision', body: { action: 'remove', note: 'abuse' } });
    expect(within(rude).queryByRole('alert')).not.toBeInTheDocument();
  });

  it("shows the API's refusal of a decision", async () => {
    renderComments([reported], () => json({ error: { code: 'not_found', message: 'no such comment' } }, 404));
    const rude = await itemSaying('you are all wrong');
    await userEvent.click(within(rude).getByRole('button', { name: 'Remove comment' }));
    expect(await within(rude).findByText('no such comment')).toBeInTheDocument();
  });

  it('says so when no comment awaits review', async () => {
    renderComments([]);
    expect(await screen.findByText('No comment awaits review.')).toBeInTheDocument();
  });
});
