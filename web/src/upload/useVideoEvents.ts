import { useEffect, useState } from 'react';
import { getToken, type ProgressEvent } from '../api/client';

export interface VideoEvents {
  last?: ProgressEvent;
  closed?: { code: number; reason: string };
}

/** eventsURL is the WebSocket URL of a video's events on this origin. */
export function eventsURL(videoId: string, loc: { protocol: string; host: string } = window.location): string {
  return `${loc.protocol === 'https:' ? 'wss:' : 'ws:'}//${loc.host}/api/v1/videos/${encodeURIComponent(videoId)}/events`;
}

/**
 * useVideoEvents follows a video's live progress and counts. The first message authenticates
 * (tokens never travel in URLs); the socket reconnects with backoff unless the server closed
 * it for good (failed, removed, 44xx).
 */
export function useVideoEvents(videoId: string | undefined, token: string | null): VideoEvents {
  // The events are kept with the video they are of: after a switch to another video, the last
  // one's events are never returned, not even for the render before the new socket opens.
  const [state, setState] = useState<VideoEvents & { videoId?: string }>({});
  // A silent refresh changes the token but not who is signed in: the socket stays, and a
  // reconnect authenticates with the token current by then.
  const signedIn = !!token;
  useEffect(() => {
    if (!videoId) return;
    const update = (f: (s: VideoEvents) => VideoEvents) => setState((s) => ({ ...f(s.videoId === videoId ? s : {}), videoId }));
    let ws: WebSocket | null = null;
    let stopped = false;
    let retry = 0;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      ws = new WebSocket(eventsURL(videoId));
      ws.onopen = () => {
        retry = 0;
        const current = signedIn ? getToken() : null;
        ws?.send(JSON.stringify(current ? { type: 'auth', token: current } : { type: 'auth' }));
      };
      ws.onmessage = (m) => {
        try {
          const ev = JSON.parse(String(m.data)) as ProgressEvent & { type?: string };
          update((s) => ({ ...s, last: { ...s.last, ...ev, counts: ev.counts ?? s.last?.counts } }));
        } catch {
          /* ignore a malformed message */
        }
      };
      ws.onclose = (e) => {
        if (stopped) return;
        const final = e.code >= 4000 || e.code === 1000;
        update((s) => ({ ...s, closed: { code: e.code, reason: e.reason } }));
        if (!final) {
          retry = Math.min(retry + 1, 6);
          timer = setTimeout(connect, 500 * 2 ** retry);
        }
      };
    };
    connect();
    return () => {
      stopped = true;
      clearTimeout(timer);
      ws?.close(1000);
    };
  }, [videoId, signedIn]);
  return state.videoId === videoId ? state : noEvents;
}

const noEvents: VideoEvents = {};
