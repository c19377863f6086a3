import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { type QueueItem } from '../api/client';
import { json, renderPage, stubFetch, signedInDuringEachTest } from '../test/harness';
import Moderation from './Moderation';
import { moderator, now, video } from './moderation/testdata';

const items: QueueItem[] = [
  { video: video('vidAAAAAAAA', 'Held by reports'), reports: { spam: 3, violence: 1 }, reason: '4 reports', heldAt: now },
  { video: video('vidBBBBBBBB', 'Held by the classifier'), reports: {}, reason: 'classifier: nudity', heldAt: now },
];

interface Call {
  method: string;
  path: string;
  body: unknown;
}

function renderQueue(queue: () => Response) {
  const calls: Call[] = [];
  stubFetch(async (req, path) => {
    const body = req.method === 'POST' ? await req.json() : undefined;
    calls.push({ method: req.method, path, body });
    if (path.endsWith('/auth/me')) return json(moderator);
    if (path.endsWith('/moderation/queue')) return queue();
    if (req.method === 'POST' && path.endsWith('/decision')) return json({ ...items[0].video });
    return json({ error: { code: 'not_found', message: 'no such thing' } }, 404);
  });
  renderPage(<Moderation />, '/moderation');
  return calls;
}

const decisions = (calls: Call[]) => calls.filter((c) => c.method === 'POST' && c.path.endsWith('/decision'));

async function itemNamed(title: string) {
  const link = await screen.findByRole('link', { name: title });
  return link.closest('li')!;
}

signedInDuringEachTest();

describe('Moderation queue', () => {
  it('lists held videos with their reasons and report counts', async () => {
    renderQueue(() => json({ items }));
    const first = await itemNamed('Held by reports');
    expect(within(first).getByRole('link', { name: 'Held by reports' })).toHaveAttribute('href', '/watch/vidAAAAAAAA');
    expect(within(first).getByText(/by @ann · held .* · 4 reports/)).toBeInTheDocument();
    expect(within(first).getByText('spam: 3')).toBeInTheDocument();
    expect(within(first).getByText('violence: 1')).toBeInTheDocument();
    const second = await itemNamed('Held by the classifier');
    expect(within(second).getByText(/classifier: nudity/)).toBeInTheDocument();
    expect(screen.getAllByRole('listitem')).toHaveLength(2);
  });

  it('says so when nothing awaits review', async () => {
    renderQueue(() => json({ items: [] }));
    expect(await screen.findByText('Nothing awaits review.')).toBeInTheDocument();
  });

  it('approves a video', async () => {
    const calls = renderQueue(() => json({ items }));
    const li = await itemNamed('Held by reports');
    await userEvent.click(within(li).getByRole('button', { name: 'Approve' }));
    await vi.waitFor(() => expect(decisions(calls)).toHaveLength(1));
    expect(decisions(calls)[0]).toEqual({ method: 'POST', path: '/api/v1/moderation/videos/vidAAAAAAAA/decision', body: { action: 'approve' } });
  });

  it('removes a video with a note', async () => {
    const calls = renderQueue(() => json({ items }));
    const li = await itemNamed('Held by the classifier');
    await userEvent.type(within(li).getByLabelText('Note'), 'not allowed here');
    await userEvent.click(within(li).getByRole('button', { name: 'Remove' }));
    await vi.waitFor(() => expect(decisions(calls)).toHaveLength(1));
    expect(decisions(calls)[0]).toEqual({
      method: 'POST',
      path: '/api/v1/moderation/videos/vidBBBBBBBB/decision',
      body: { action: 'remove', note: 'not allowed here' },
    });
  });

  it('restricts a video with content-warning labels, once some are given', async () => {
    const calls = renderQueue(() => json({ items }));
    const li = await itemNamed('Held by reports');
    const restrict = within(li).getByRole('button', { name: 'Restrict' });
    expect(restrict).toBeDisabled();
    await userEvent.type(within(li).getByLabelText('Content warnings (comma-separated, for restrict)'), ' violence, , gore ');
    expect(restrict).toBeEnabled();
    await userEvent.click(restrict);
    await vi.waitFor(() => expect(decisions(calls)).toHaveLength(1));
    expect(decisions(calls)[0]).toEqual({
      method: 'POST',
      path: '/api/v1/moderation/videos/vidAAAAAAAA/decision',
      body: { action: 'restrict', labels: ['violence', 'gore'] },
    });
  });

  it('tells users without the role that the queue is not theirs', async () => {
    renderQueue(() => json({ error: { code: 'forbidden', message: 'only moderators may do this' } }, 403));
    expect(await screen.findByText(/The moderation queue is for moderators/)).toBeInTheDocument();
    expect(screen.queryByRole('heading', { name: 'Moderation' })).not.toBeInTheDocument();
  });

  it('shows the API message for other errors', async () => {
    renderQueue(() => json({ error: { code: 'internal', message: 'the database is down' } }, 500));
    expect(await screen.findByText('the database is down')).toBeInTheDocument();
  });

  it('opens the tab the URL names, and each tab reads its own list', async () => {
    const paths: string[] = [];
    stubFetch(async (_req, path) => {
      paths.push(path);
      if (path.endsWith('/auth/me')) return json(moderator);
      if (path.endsWith('/moderation/audit')) return json({ entries: [] });
      if (path.endsWith('/moderation/comments') || path.endsWith('/moderation/reports') || path.endsWith('/moderation/queue')) return json({ items: [] });
      return json({ error: { code: 'not_found', message: 'no such thing' } }, 404);
    });
    renderPage(<Moderation />, '/moderation?tab=audit');
    expect(await screen.findByText('No moderator action matches.')).toBeInTheDocument();
    expect(screen.getByRole('tab', { name: 'Audit log' })).toHaveAttribute('aria-selected', 'true');
    expect(screen.getByRole('tabpanel')).toHaveAccessibleName('Audit log');
    for (const [tab, empty, path] of [
      ['Comments', 'No comment awaits review.', '/api/v1/moderation/comments'],
      ['Reports', 'Nothing has open reports.', '/api/v1/moderation/reports'],
      ['Videos', 'Nothing awaits review.', '/api/v1/moderation/queue'],
    ]) {
      await userEvent.click(screen.getByRole('tab', { name: tab }));
      expect(await screen.findByText(empty)).toBeInTheDocument();
      expect(paths).toContain(path);
    }
  });
});
