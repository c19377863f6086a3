import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { json, renderPage, stubFetch, signedInDuringEachTest } from '../../test/harness';
import ReportQueue from './ReportQueue';
import type { ReportQueueItem } from './shared';
import { comment, moderator, record, targetReports, video, type Call } from './testdata';

const heavy: ReportQueueItem = {
  targetType: 'video',
  targetId: 'vidAAAAAAAA',
  video: video('vidAAAAAAAA', 'Heavily reported'),
  reports: { spam: 2, hate: 1 },
  reportWeight: 1.75,
  reporters: 3,
};
const held: ReportQueueItem = {
  targetType: 'video',
  targetId: 'vidBBBBBBBB',
  video: video('vidBBBBBBBB', 'Held and reported', { moderation: { state: 'held', reason: 'classifier' } }),
  reports: { violence: 1 },
  reportWeight: 0.25,
  reporters: 1,
};

const reportedComment: ReportQueueItem = {
  targetType: 'comment',
  targetId: 'cmt1',
  video: video('vidAAAAAAAA', 'Heavily reported'),
  comment: comment('cmt1', 'Buy followers at example.com'),
  reports: { spam: 2 },
  reportWeight: 1.25,
  reporters: 2,
};

function renderReports(pages: Record<string, ReportQueueItem[]>) {
  const calls: Call[] = [];
  stubFetch(async (req, path) => {
    const call = await record(req, path);
    calls.push(call);
    if (path.endsWith('/auth/me')) return json(moderator);
    if (path === '/api/v1/moderation/reports') {
      const cursor = call.query.cursor ?? '';
      return json({ items: pages[cursor], nextCursor: pages[`${cursor}+`] ? `${cursor}+` : undefined });
    }
    if (path === '/api/v1/moderation/videos/vidAAAAAAAA/reports') return json({ reports: targetReports });
    if (req.method === 'POST' && path.endsWith('/decision')) return json(heavy.video);
    return json({ error: { code: 'not_found', message: 'no such thing' } }, 404);
  });
  renderPage(<ReportQueue />, '/moderation?tab=reports');
  return calls;
}

const decisions = (calls: Call[]) => calls.filter((c) => c.method === 'POST');

async function itemNamed(title: string) {
  return (await screen.findByRole('link', { name: title })).closest('li')!;
}

signedInDuringEachTest();

describe('Report queue', () => {
  it('lists reported videos in the order the API weighs them, with weight, reporters and reasons', async () => {
    renderReports({ '': [heavy, held] });
    await itemNamed('Held and reported');
    const list = screen.getByRole('list', { name: 'Reported videos and comments' });
    const titles = within(list)
      .getAllByRole('link')
      .map((a) => a.textContent);
    expect(titles).toEqual(['Heavily reported', 'Held and reported']);
    const first = await itemNamed('Heavily reported');
    expect(within(first).getByText('report weight 1.75')).toBeInTheDocument();
    expect(within(first).getByText(/by @ann · 3 reporters$/)).toBeInTheDocument();
    expect(within(first).getByText('spam: 2')).toBeInTheDocument();
    expect(within(first).getByText('hate: 1')).toBeInTheDocument();
    expect(within(await itemNamed('Held and reported')).getByText(/1 reporter · held$/)).toBeInTheDocument();
  });

  it("shows a video's reports with each reporter's standing", async () => {
    renderReports({ '': [heavy] });
    const li = await itemNamed('Heavily reported');
    await userEvent.click(within(li).getByRole('button', { name: 'Show reports (3)' }));
    const reports = await within(li).findByRole('list', { name: 'Reports of this video' });
    const [carl, dora, gone] = within(reports).getAllByRole('listitem');
    expect(carl).toHaveTextContent('spam · @carl');
    expect(carl).toHaveTextContent('“posted everywhere”');
    for (const part of ['weight 1.50', 'account 1 year old', 'GitHub linked', '4 upheld, 1 rejected before'])
      expect(within(carl).getByText(part)).toBeInTheDocument();
    for (const part of ['weight 0.25', 'new account when reporting', 'no GitHub', '0 upheld, 0 rejected before', 'same network as 2 other reports'])
      expect(within(dora).getByText(part)).toBeInTheDocument();
    expect(gone).toHaveTextContent('other · a deleted account');
    expect(within(gone).getByText('weight 0.00')).toBeInTheDocument();
    await userEvent.click(within(li).getByRole('button', { name: 'Hide reports' }));
    expect(within(li).queryByRole('list', { name: 'Reports of this video' })).not.toBeInTheDocument();
  });

  it('holds a reported video for review, and dismisses the reports of another', async () => {
    const calls = renderReports({ '': [heavy, held] });
    const li = await itemNamed('Heavily reported');
    await userEvent.type(within(li).getByLabelText('Note'), 'checking');
    await userEvent.click(within(li).getByRole('button', { name: 'Hold for review' }));
    await vi.waitFor(() => expect(decisions(calls)).toHaveLength(1));
    expect(decisions(calls)[0]).toMatchObject({ path: '/api/v1/moderation/videos/vidAAAAAAAA/decision', body: { action: 'hold', note: 'checking' } });
    // A held video cannot be held again; approving it is an approval.
    const other = await itemNamed('Held and reported');
    expect(within(other).queryByRole('button', { name: 'Hold for review' })).not.toBeInTheDocument();
    await userEvent.click(within(other).getByRole('button', { name: 'Approve' }));
    await vi.waitFor(() => expect(decisions(calls)).toHaveLength(2));
    expect(decisions(calls)[1]).toMatchObject({ path: '/api/v1/moderation/videos/vidBBBBBBBB/decision', body: { action: 'approve' } });
    await userEvent.click(within(li).getByRole('button', { name: 'Dismiss reports' }));
    await vi.waitFor(() => expect(decisions(calls)).toHaveLength(3));
    expect(decisions(calls)[2]).toMatchObject({ path: '/api/v1/moderation/videos/vidAAAAAAAA/decision', body: { action: 'approve', note: 'checking' } });
  });

  it('lists a reported comment with the video it is on, and decides on the comment', async () => {
    const calls = renderReports({ '': [reportedComment] });
    const li = (await screen.findByText('Buy followers at example.com')).closest('li')!;
    expect(within(li).getByText('report weight 1.25')).toBeInTheDocument();
    expect(within(li).getByRole('link', { name: 'Heavily reported' })).toHaveAttribute('href', '/watch/vidAAAAAAAA');
    await userEvent.click(within(li).getByRole('button', { name: 'Remove comment' }));
    await vi.waitFor(() => expect(decisions(calls)).toHaveLength(1));
    expect(decisions(calls)[0]).toMatchObject({ path: '/api/v1/moderation/comments/cmt1/decision', body: { action: 'remove' } });
  });

  it('pages with the cursor the API gave', async () => {
    const calls = renderReports({ '': [heavy], '+': [held] });
    await itemNamed('Heavily reported');
    await userEvent.click(screen.getByRole('button', { name: 'More reported videos and comments' }));
    await itemNamed('Held and reported');
    expect(calls.filter((c) => c.path === '/api/v1/moderation/reports').map((c) => c.query.cursor)).toEqual([undefined, '+']);
    expect(screen.queryByRole('button', { name: 'More reported videos and comments' })).not.toBeInTheDocument();
  });

  it('says so when nothing is reported', async () => {
    renderReports({ '': [] });
    expect(await screen.findByText('Nothing has open reports.')).toBeInTheDocument();
  });
});
