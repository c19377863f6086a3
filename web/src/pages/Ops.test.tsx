import { act, screen, within } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type FarmStatus } from '../api/client';
import { json, renderPage, stubFetch, signedInDuringEachTest } from '../test/harness';
import Ops from './Ops';

const now = new Date().toISOString();
const moderator = { id: 'u1', username: 'mod', displayName: 'Mod', role: 'moderator', createdAt: now };

const farm: FarmStatus = {
  cluster: { leader: 'c1', term: 4, commitIndex: 120, nodes: [{ id: 'c1', address: '127.0.0.1:7001', leader: true }] },
  agents: [
    { id: 'a1', state: 'alive', slots: 4, busy: 3, cores: 8, encoders: ['libx264', 'h264_nvenc'], version: 'v1.2.0', lastSeen: now },
    { id: 'a2', state: 'dead', slots: 2, busy: 0, cores: 4, encoders: [], version: 'v1.1.0', lastSeen: now },
  ],
  jobs: {
    queued: 1,
    running: 1,
    done: 7,
    failed: 1,
    canceled: 0,
    recent: [
      {
        id: 'job-enc',
        videoId: 'vid12345678',
        state: 'encoding',
        chunksDone: 3,
        chunksTotal: 4,
        progress: 0.75,
        created: '2026-12-07T10:00:00Z',
        updated: now,
        playableAt: '2026-12-07T10:00:02.4Z',
        publicPlayableAt: '2026-12-07T10:00:03.1Z',
      },
      { id: 'job-bad', state: 'failed', chunksDone: 0, chunksTotal: 0, progress: 0, created: now, updated: now, error: 'the source has no video stream' },
    ],
  },
  throughput: { jobsDoneLastHour: 5, slotsBusy: 3, slotsTotal: 4 },
};

function renderOps(answer: () => Response) {
  const calls: string[] = [];
  stubFetch((_req, path) => {
    calls.push(path);
    return path.endsWith('/auth/me') ? json(moderator) : answer();
  });
  renderPage(<Ops />, '/ops');
  return calls;
}

signedInDuringEachTest();
afterEach(() => vi.useRealTimers());

describe('Ops', () => {
  it('shows the cluster, agents with load and encoders, jobs and throughput', async () => {
    renderOps(() => json(farm));
    const agents = await screen.findByRole('table', { name: 'Agents' });
    const a1 = within(agents).getByRole('row', { name: /a1/ });
    expect(within(a1).getByText('alive')).toBeInTheDocument();
    expect(within(a1).getByText('libx264')).toBeInTheDocument();
    expect(within(a1).getByText('h264_nvenc')).toBeInTheDocument();
    expect(within(a1).getByRole('progressbar', { name: 'Load of a1' })).toHaveAttribute('aria-valuenow', '75');
    expect(within(a1).getByText('3/4')).toBeInTheDocument();

    const jobs = screen.getByRole('table', { name: 'Recent jobs' });
    expect(within(jobs).getByRole('progressbar', { name: 'Progress of job job-enc' })).toHaveAttribute('aria-valuenow', '75');
    expect(within(jobs).getByRole('link', { name: 'vid12345678' })).toHaveAttribute('href', '/watch/vid12345678');
    expect(within(jobs).getByText('the source has no video stream')).toBeInTheDocument();
    expect(within(jobs).getByLabelText('Playable for the owner of job job-enc')).toHaveTextContent('owner 2.4 s');
    expect(within(jobs).getByLabelText('Playable for the public of job job-enc')).toHaveTextContent('public 3.1 s');
    expect(within(within(jobs).getByRole('row', { name: /job-bad/ })).queryByLabelText(/Playable for/)).not.toBeInTheDocument();

    expect(screen.getByText('Done: 7')).toBeInTheDocument();
    expect(within(screen.getByRole('region', { name: 'Jobs done in the last hour' })).getByText('5')).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Farm load' })).toHaveAttribute('aria-valuenow', '75');
    expect(screen.getByText(/Leader c1 · term 4 · commit index 120/)).toBeInTheDocument();
  });

  it('says so when the farm has no agents and no jobs', async () => {
    renderOps(() =>
      json({
        ...farm,
        agents: [],
        jobs: { queued: 0, running: 0, done: 0, failed: 0, canceled: 0, recent: [] },
        throughput: { jobsDoneLastHour: 0, slotsBusy: 0, slotsTotal: 0 },
      }),
    );
    expect(await screen.findByText(/No agent has joined the farm/)).toBeInTheDocument();
    expect(screen.getByText(/No jobs yet/)).toBeInTheDocument();
    expect(screen.queryByRole('table')).not.toBeInTheDocument();
  });

  it('shows the API message when the coordinators are unreachable', async () => {
    renderOps(() => json({ error: { code: 'unavailable', message: "the transcoding farm's coordinators are unreachable; try again in a moment" } }, 503));
    expect(await screen.findByText(/coordinators are unreachable/)).toBeInTheDocument();
  });

  it('tells users without the role that the page is not theirs', async () => {
    renderOps(() => json({ error: { code: 'forbidden', message: 'only moderators may do this' } }, 403));
    expect(await screen.findByText(/for moderators and admins/)).toBeInTheDocument();
  });

  it('polls every few seconds', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    const calls = renderOps(() => json(farm));
    await screen.findByRole('table', { name: 'Agents' });
    const before = calls.filter((p) => p.endsWith('/ops/farm')).length;
    await act(() => vi.advanceTimersByTimeAsync(3100));
    await vi.waitFor(() => expect(calls.filter((p) => p.endsWith('/ops/farm')).length).toBeGreaterThan(before));
  });
});
