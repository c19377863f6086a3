// Where a signed-in viewer stopped: the watch page reports the playback position to the views
// endpoint (which saves it as the resume position) every few seconds while playing, when
// playback pauses, and when the viewer leaves — closing the tab, switching away, or going to
// another page of the app. Every report is a keepalive request, which the browser finishes after
// the page is gone. It is a plain fetch with a string body rather than the API client: the client
// clones each Request to retry it after a token refresh, which sends the body as a stream that
// browser tooling cannot read (the end-to-end test reads these positions), and a request that
// outlives its page could not be retried anyway. The session refreshes the token before it
// expires, so a report has no 401 to retry.

import { useEffect, useRef } from 'react';
import { getToken } from '../api/client';

/** sendPosition saves position as the signed-in viewer's resume position of videoId. */
function sendPosition(videoId: string, position: number) {
  const token = getToken();
  if (!token) return;
  fetch(`${globalThis.location.origin}/api/v1/videos/${encodeURIComponent(videoId)}/views`, {
    method: 'POST',
    keepalive: true,
    headers: { 'Content-Type': 'application/json', Authorization: `Bearer ${token}` },
    body: JSON.stringify({ positionSeconds: position }),
  }).catch(() => {});
}

/** reportEvery is how often a playing video's position is saved. */
export const reportEvery = 10_000;

/** usePositionReports saves media's position for videoId while enabled (the viewer is signed in). */
export function usePositionReports(videoId: string, media: HTMLVideoElement | null, enabled: boolean, every = reportEvery) {
  const lastSent = useRef<number | null>(null);
  useEffect(() => {
    if (!media || !enabled) return;
    lastSent.current = null;
    const send = () => {
      const position = media.currentTime;
      // Nothing watched yet, or nothing new since the last report.
      if (!Number.isFinite(position) || position <= 0 || (lastSent.current !== null && Math.abs(position - lastSent.current) < 0.5)) return;
      lastSent.current = position;
      sendPosition(videoId, position);
    };
    const timer = setInterval(() => {
      if (!media.paused) send();
    }, every);
    const onHidden = () => {
      if (document.visibilityState === 'hidden') send();
    };
    media.addEventListener('pause', send);
    window.addEventListener('pagehide', send);
    document.addEventListener('visibilitychange', onHidden);
    return () => {
      clearInterval(timer);
      media.removeEventListener('pause', send);
      window.removeEventListener('pagehide', send);
      document.removeEventListener('visibilitychange', onHidden);
      send(); // leaving the video within the app
    };
  }, [videoId, media, enabled, every]);
}
