import { render } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { stubFetch, json } from '../test/harness';
import { setToken } from '../api/client';
import { usePositionReports } from './usePositionReports';

/** A <video> whose position and paused state the test sets. */
function fakeMedia() {
  const el = document.createElement('video');
  const state = { time: 0, paused: true };
  Object.defineProperty(el, 'currentTime', { get: () => state.time, configurable: true });
  Object.defineProperty(el, 'paused', { get: () => state.paused, configurable: true });
  return { el, state };
}

function Reporter({ media, enabled }: { media: HTMLVideoElement; enabled: boolean }) {
  usePositionReports('abcdefghijk', media, enabled, 1000);
  return null;
}

interface Sent {
  position: number;
  keepalive: boolean;
  auth: string | null;
}

function recordReports(): Sent[] {
  const sent: Sent[] = [];
  stubFetch(async (req, path) => {
    if (path === '/api/v1/videos/abcdefghijk/views')
      sent.push({ position: (await req.json()).positionSeconds, keepalive: req.keepalive, auth: req.headers.get('Authorization') });
    return json({ counted: false, views: 1 });
  });
  return sent;
}

beforeEach(() => {
  vi.useFakeTimers();
  setToken('t0k3n');
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  setToken(null);
});

describe('usePositionReports', () => {
  it('reports while playing, on pause, on pagehide and on leaving, with keepalive', async () => {
    const sent = recordReports();
    const { el, state } = fakeMedia();
    const { unmount } = render(<Reporter media={el} enabled />);
    state.time = 3;
    await vi.advanceTimersByTimeAsync(1000);
    expect(sent).toEqual([]); // paused: nothing new is watched
    state.paused = false;
    await vi.advanceTimersByTimeAsync(1000);
    state.time = 4.2;
    await vi.advanceTimersByTimeAsync(1000);
    // The same position is not sent twice.
    await vi.advanceTimersByTimeAsync(1000);
    state.paused = true;
    state.time = 6;
    el.dispatchEvent(new Event('pause'));
    state.time = 7;
    window.dispatchEvent(new Event('pagehide'));
    state.time = 8;
    unmount();
    await vi.advanceTimersByTimeAsync(0);
    await vi.waitFor(() => expect(sent.map((s) => s.position)).toEqual([3, 4.2, 6, 7, 8]));
    expect(sent.every((s) => s.keepalive && s.auth === 'Bearer t0k3n')).toBe(true);
  });

  it('reports when the page is hidden', async () => {
    const sent = recordReports();
    const { el, state } = fakeMedia();
    render(<Reporter media={el} enabled />);
    state.time = 12;
    Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
    document.dispatchEvent(new Event('visibilitychange'));
    Object.defineProperty(document, 'visibilityState', { value: 'visible', configurable: true });
    await vi.waitFor(() => expect(sent.map((s) => s.position)).toEqual([12]));
  });

  it('reports nothing for signed-out viewers or before playback', async () => {
    const sent = recordReports();
    const { el, state } = fakeMedia();
    const first = render(<Reporter media={el} enabled={false} />);
    state.time = 5;
    state.paused = false;
    await vi.advanceTimersByTimeAsync(3000);
    first.unmount();
    const { el: fresh } = fakeMedia();
    const second = render(<Reporter media={fresh} enabled />);
    window.dispatchEvent(new Event('pagehide'));
    second.unmount();
    await vi.advanceTimersByTimeAsync(0);
    expect(sent).toEqual([]);
  });
});
