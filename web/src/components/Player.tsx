import { useEffect, useRef, useState } from 'react';
import { Alert, Box, Stack } from '@mui/material';
import type Hls from 'hls.js';
import type { Video } from '../api/client';
import { useStoryboard } from '../lib/storyboard';
import { QualityMenu, type Level } from './QualityMenu';
import { SeekBar } from './SeekBar';

export interface PlayerProps {
  video: Video;
  onPlay?: () => void;
  onTime?: (seconds: number) => void;
}

declare global {
  interface Window {
    /** The current hls.js instance, for the end-to-end test. */
    __sunomiHls?: Hls;
  }
}

/** Player plays the HLS ladder with hls.js (Safari natively), with a quality menu and captions. */
export function Player({ video, onPlay, onTime }: PlayerProps) {
  const ref = useRef<HTMLVideoElement>(null);
  const hlsRef = useRef<Hls | null>(null);
  const [levels, setLevels] = useState<Level[]>([]);
  const [selected, setSelected] = useState(-1);
  const [playing, setPlaying] = useState(-1);
  const [error, setError] = useState('');
  const [current, setCurrent] = useState(0);
  const [duration, setDuration] = useState(video.durationSeconds ?? 0);
  const src = video.playback?.masterUrl;
  const cues = useStoryboard(video.playback?.storyboardUrl);

  useEffect(() => {
    const el = ref.current;
    if (!el || !src) return;
    let hls: Hls | null = null;
    let cancelled = false;
    setError('');
    setLevels([]);
    (async () => {
      const { default: HlsImpl } = await import('hls.js');
      if (cancelled) return;
      if (!HlsImpl.isSupported()) {
        if (el.canPlayType('application/vnd.apple.mpegurl')) el.src = src;
        else setError('This browser cannot play HLS video.');
        return;
      }
      // Captions come from the <track> elements below; hls.js would add the same tracks again.
      hls = new HlsImpl({ enableWebVTT: false, enableIMSC1: false, enableCEA708Captions: false });
      hlsRef.current = hls;
      window.__sunomiHls = hls;
      hls.on(HlsImpl.Events.MANIFEST_PARSED, (_e, data) => {
        setLevels(data.levels.map((l, index) => ({ index, height: l.height, bitrate: l.bitrate })));
      });
      hls.on(HlsImpl.Events.LEVEL_SWITCHED, (_e, data) => setPlaying(data.level));
      hls.on(HlsImpl.Events.ERROR, (_e, data) => {
        if (!data.fatal) return;
        if (data.type === HlsImpl.ErrorTypes.NETWORK_ERROR) hls?.startLoad();
        else if (data.type === HlsImpl.ErrorTypes.MEDIA_ERROR) hls?.recoverMediaError();
        else setError(`Playback failed: ${data.details}`);
      });
      hls.loadSource(src);
      hls.attachMedia(el);
    })();
    return () => {
      cancelled = true;
      hls?.destroy();
      if (window.__sunomiHls === hls) window.__sunomiHls = undefined;
      hlsRef.current = null;
    };
  }, [src]);

  const select = (i: number) => {
    setSelected(i);
    const hls = hlsRef.current;
    if (!hls) return;
    // currentLevel switches at once (flushing the buffer); -1 goes back to automatic.
    hls.currentLevel = i;
  };

  return (
    <Box>
      <Box sx={{ position: 'relative', width: '100%', aspectRatio: '16 / 9', bgcolor: 'black', borderRadius: 1, overflow: 'hidden' }}>
        <video
          ref={ref}
          controls
          playsInline
          crossOrigin="anonymous"
          poster={video.playback?.posterUrl}
          aria-label={`Video: ${video.title}`}
          style={{ width: '100%', height: '100%', display: 'block' }}
          onPlay={onPlay}
          onTimeUpdate={(e) => {
            setCurrent(e.currentTarget.currentTime);
            onTime?.(e.currentTarget.currentTime);
          }}
          onDurationChange={(e) => isFinite(e.currentTarget.duration) && e.currentTarget.duration > 0 && setDuration(e.currentTarget.duration)}
        >
          {(video.captions ?? []).map((c) => (
            <track key={c.language} kind="subtitles" src={c.url} srcLang={c.language} label={c.label} />
          ))}
        </video>
      </Box>
      <SeekBar
        current={current}
        duration={duration}
        cues={cues}
        onSeek={(t) => {
          setCurrent(t);
          if (ref.current) ref.current.currentTime = t;
        }}
      />
      {error && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {error}
        </Alert>
      )}
      <Stack direction="row" sx={{ justifyContent: 'flex-end' }}>
        <QualityMenu levels={levels} selected={selected} playing={playing} onSelect={select} />
      </Stack>
    </Box>
  );
}
