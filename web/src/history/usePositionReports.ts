// Where a signed-in viewer stopped: the watch page reports the playback position to the views
// endpoint (which saves it as the resume position) every few seconds while playing, when
// playback pauses, and when the viewer leaves — closing the tab, switching away, or going to
// another page of the app. Leaving uses a keepalive request, which the browser finishes after
// the page is gone.
import { useEffect, useRef } from 'react';
import { api } from '../api/client';

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
      api.POST('/videos/{videoId}/views', { params: { path: { videoId } }, body: { positionSeconds: position }, keepalive: true }).catch(() => {});
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
