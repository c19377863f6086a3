import { cleanup, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { Route, Routes } from 'react-router-dom';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { setToken, type Video } from '../api/client';
import { json, renderPage, stubFetch } from '../test/harness';
import Watch, { resumeWorthy } from './Watch';

// hls.js stands in: the test sees whether the player started loading the media.
const hls = vi.hoisted(() => ({ loadSource: vi.fn(), attachMedia: vi.fn() }));
vi.mock('hls.js', () => {
  class FakeHls {
    static isSupported = () => true;
    static Events = { MANIFEST_PARSED: 'manifestParsed', LEVEL_SWITCHED: 'levelSwitched', ERROR: 'error' };
    static ErrorTypes = { NETWORK_ERROR: 'networkError', MEDIA_ERROR: 'mediaError' };
    on() {}
    loadSource(src: string) {
      hls.loadSource(src);
    }
    attachMedia(el: HTMLMediaElement) {
      hls.attachMedia(el);
    }
    startLoad() {}
    recoverMediaError() {}
    destroy() {}
  }
  return { default: FakeHls };
});

class FakeWebSocket {
  onopen: (() => void) | null = null;
  onmessage: ((m: MessageEvent) => void) | null = null;
  onclose: ((e: CloseEvent) => void) | null = null;
  send() {}
  close() {}
}

const now = new Date().toISOString();
const base: Video = {
  id: 'abcdefghijk',
  title: 'A sharp video',
  description: '',
  tags: [],
  visibility: 'public',
  status: 'ready',
  owner: { username: 'ann', displayName: 'Ann' },
  playback: { masterUrl: '/media/abcdefghijk/master.m3u8' },
  stats: { views: 0, likes: 0, dislikes: 0, comments: 0 },
  createdAt: now,
  updatedAt: now,
};

/** renderWatch shows video's page; answer may serve more paths (undefined leaves a path to the defaults). */
function renderWatch(video: Video, answer: (path: string) => Response | undefined = () => undefined) {
  vi.stubGlobal('WebSocket', FakeWebSocket);
  stubFetch((_req, path) => {
    const special = answer(path);
    if (special) return special;
    if (path === `/api/v1/videos/${video.id}`) return json(video);
    if (path.endsWith('/comments')) return json({ comments: [] });
    if (path.startsWith('/api/v1/users/')) return json({ subscribed: false, subscriberCount: 0 });
    return json({}, 204);
  });
  renderPage(
    <Routes>
      <Route path="/watch/:videoId" element={<Watch />} />
    </Routes>,
    `/watch/${video.id}`,
  );
}

beforeEach(() => {
  hls.loadSource.mockClear();
  hls.attachMedia.mockClear();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('Watch: content warnings', () => {
  it('shows the labels and loads nothing until the viewer confirms', async () => {
    renderWatch({ ...base, contentWarnings: ['violence', 'flashing lights'] });
    const dialog = await screen.findByRole('alertdialog', { name: 'Content warning' });
    expect(dialog).toHaveTextContent('This video may contain: violence, flashing lights.');
    expect(screen.queryByLabelText('Video: A sharp video')).not.toBeInTheDocument();
    expect(document.querySelector('video')).toBeNull();
    // Give a would-be player every chance to start loading.
    await new Promise((r) => setTimeout(r, 50));
    expect(hls.loadSource).not.toHaveBeenCalled();

    await userEvent.click(screen.getByRole('button', { name: 'I understand, play the video' }));
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    const player = await screen.findByLabelText('Video: A sharp video');
    await vi.waitFor(() => expect(hls.loadSource).toHaveBeenCalledWith('/media/abcdefghijk/master.m3u8'));
    expect(hls.attachMedia).toHaveBeenCalledWith(player);
  });

  it('plays at once when the video has no warnings', async () => {
    renderWatch({ ...base, contentWarnings: [] });
    const player = await screen.findByLabelText('Video: A sharp video');
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
    expect(screen.queryByText(/Content warning/)).not.toBeInTheDocument();
    await vi.waitFor(() => expect(hls.loadSource).toHaveBeenCalledWith('/media/abcdefghijk/master.m3u8'));
    expect(hls.attachMedia).toHaveBeenCalledWith(player);
  });

  it('shows no interstitial when contentWarnings is absent', async () => {
    renderWatch(base);
    expect(await screen.findByLabelText('Video: A sharp video')).toBeInTheDocument();
    expect(screen.queryByRole('alertdialog')).not.toBeInTheDocument();
  });
});

describe('Watch: videos that cannot play yet', () => {
  it('shows a failed transcode with its reason, and no player', async () => {
    renderWatch({ ...base, status: 'failed', playback: undefined, failureReason: 'the source has no video stream' });
    expect(await screen.findByRole('alert')).toHaveTextContent('Transcoding failed: the source has no video stream.');
    expect(screen.queryByRole('slider', { name: 'Seek' })).not.toBeInTheDocument();
    expect(hls.loadSource).not.toHaveBeenCalled();
  });

  it('shows progress while the video is processing', async () => {
    renderWatch({ ...base, status: 'processing', playback: undefined });
    expect(await screen.findByText('Processing… 0%')).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Transcoding progress' })).toBeInTheDocument();
    expect(hls.loadSource).not.toHaveBeenCalled();
  });

  it('answers a missing video with a not-found page', async () => {
    vi.stubGlobal('WebSocket', FakeWebSocket);
    stubFetch(() => json({ error: { code: 'not_found', message: 'no such video' } }, 404));
    renderPage(
      <Routes>
        <Route path="/watch/:videoId" element={<Watch />} />
      </Routes>,
      '/watch/zzzzzzzzzzz',
    );
    expect(await screen.findByRole('heading', { name: 'This video does not exist' })).toBeInTheDocument();
  });
});

describe('Watch: signed-in viewers', () => {
  const me = { id: 'u2', username: 'bob', displayName: 'Bob', role: 'user', createdAt: now };
  beforeEach(() => setToken('t0k3n'));
  afterEach(() => setToken(null));

  const renderSignedIn = (video: Video, position: number | null) =>
    renderWatch(video, (path) => {
      if (path === '/api/v1/auth/me') return json(me);
      if (path === `/api/v1/me/history/${video.id}`)
        return position === null ? new Response(null, { status: 204 }) : json({ positionSeconds: position, watchedAt: now });
      if (path === '/api/v1/me/reports') return json({ reports: [] });
      return undefined;
    });

  it('offers to resume where the viewer stopped, and seeks there', async () => {
    const play = vi.spyOn(HTMLMediaElement.prototype, 'play').mockResolvedValue(undefined);
    renderSignedIn({ ...base, durationSeconds: 600 }, 65.4);
    const resume = await screen.findByRole('button', { name: 'Resume at 1:05' });
    const player = screen.getByLabelText<HTMLVideoElement>('Video: A sharp video');
    await userEvent.click(resume);
    expect(player.currentTime).toBeCloseTo(65.4);
    expect(play).toHaveBeenCalled();
    expect(screen.queryByRole('button', { name: /^Resume at/ })).not.toBeInTheDocument();
    play.mockRestore();
  });

  it('offers nothing without a saved position', async () => {
    renderSignedIn(base, null);
    expect(await screen.findByLabelText('Video: A sharp video')).toBeInTheDocument();
    await screen.findByRole('button', { name: 'Report this video' });
    expect(screen.queryByRole('button', { name: /^Resume at/ })).not.toBeInTheDocument();
  });

  it('lets a viewer report the video, not its owner', async () => {
    renderSignedIn(base, null);
    expect(await screen.findByRole('button', { name: 'Report this video' })).toBeInTheDocument();
    cleanup();
    renderSignedIn({ ...base, owner: { username: 'bob', displayName: 'Bob' } }, null);
    expect(await screen.findByLabelText('Video: A sharp video')).toBeInTheDocument();
    await new Promise((r) => setTimeout(r, 50));
    expect(screen.queryByRole('button', { name: 'Report this video' })).not.toBeInTheDocument();
  });

  it('offers a resume only past the first seconds and before the end', () => {
    expect(resumeWorthy(2, 100)).toBe(false);
    expect(resumeWorthy(50, 100)).toBe(true);
    expect(resumeWorthy(98, 100)).toBe(false);
    expect(resumeWorthy(50)).toBe(true);
  });
});
