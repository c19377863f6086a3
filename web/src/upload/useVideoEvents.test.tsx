import { act, renderHook } from '@testing-library/react';
import { afterEach, expect, test, vi } from 'vitest';
import { useVideoEvents } from './useVideoEvents';

/** FakeWebSocket is one socket per video, whose server side the test plays. */
class FakeWebSocket {
  static byURL = new Map<string, FakeWebSocket>();
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose: ((e: { code: number; reason: string }) => void) | null = null;
  constructor(readonly url: string) {
    FakeWebSocket.byURL.set(url, this);
  }
  send() {}
  close() {}
  emit(event: object) {
    act(() => this.onmessage?.({ data: JSON.stringify(event) }));
  }
}

const socketOf = (videoId: string) => [...FakeWebSocket.byURL.entries()].find(([url]) => url.endsWith(`/videos/${videoId}/events`))?.[1];

afterEach(() => {
  FakeWebSocket.byURL.clear();
  vi.unstubAllGlobals();
});

test("after a switch to another video the last one's events are gone at once", () => {
  vi.stubGlobal('WebSocket', FakeWebSocket);
  // Every render's answer: the one a switch renders first, before effects run, matters.
  const rendered: { id: string; views?: number }[] = [];
  const { result, rerender } = renderHook(
    ({ id }) => {
      const events = useVideoEvents(id, null);
      rendered.push({ id, views: events.last?.counts?.views });
      return events;
    },
    { initialProps: { id: 'vidAAAAAAAA' } },
  );
  socketOf('vidAAAAAAAA')!.emit({ videoId: 'vidAAAAAAAA', status: 'ready', counts: { views: 7, likes: 1, dislikes: 0, comments: 2 } });
  expect(result.current.last?.counts?.views).toBe(7);

  // The very render that switches must not hand the new video the old one's counts: the
  // watch page would merge them into the new video.
  rerender({ id: 'vidBBBBBBBB' });
  expect(rendered.filter((r) => r.id === 'vidBBBBBBBB' && r.views !== undefined)).toEqual([]);
  expect(result.current.last).toBeUndefined();

  socketOf('vidBBBBBBBB')!.emit({ videoId: 'vidBBBBBBBB', status: 'processing' });
  expect(result.current.last?.status).toBe('processing');
  expect(result.current.last?.counts).toBeUndefined();
});
