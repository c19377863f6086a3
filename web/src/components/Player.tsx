import { useEffect, useRef, useState } from 'react';
import { Alert, Box, Stack, Typography } from '@mui/material';
import MusicNoteIcon from '@mui/icons-material/MusicNote';
import type Hls from 'hls.js';
import type { Level as HlsLevel } from 'hls.js';
import type { Video } from '../api/client';
import { useStoryboard } from '../lib/storyboard';
import { av1Fallback, preferAV1, videoCodecName } from '../lib/codecs';
import { QualityMenu, type Level } from './QualityMenu';
import { PlayerControls, toggleFullscreen, toggleMute, togglePlay } from './PlayerControls';

export interface PlayerProps {
  video: Video;
  onPlay?: () => void;
  onTime?: (seconds: number) => void;
  /** onMedia receives the <video> element once it exists (null when it goes), for the page's own controls. */
  onMedia?: (media: HTMLVideoElement | null) => void;
}

declare global {
  interface Window {
    /** The current hls.js instance, for the end-to-end test. */
    __sunomiHls?: Hls;
  }
}

const toLevels = (levels: HlsLevel[]): Level[] =>
  levels.map((l, index) => ({ index, height: l.height, bitrate: l.bitrate, codec: videoCodecName(l.videoCodec) }));

const isTextField = (t: HTMLElement) => t.isContentEditable || (t.matches('input, textarea, select') && (t as HTMLInputElement).type !== 'range');

/**
 * Player plays the HLS ladder with hls.js (Safari natively), with our control bar: quality menu, captions, full screen.
 * Where the browser decodes AV1 it plays the AV1 variants (preferAV1), and goes back to H.264 if they fail to play.
 */
export function Player({ video, onPlay, onTime, onMedia }: PlayerProps) {
  const [media, setMedia] = useState<HTMLVideoElement | null>(null);
  const [container, setContainer] = useState<HTMLDivElement | null>(null);
  const hlsRef = useRef<Hls | null>(null);
  const [levels, setLevels] = useState<Level[]>([]);
  const [selected, setSelected] = useState(-1);
  const [playing, setPlaying] = useState(-1);
  const [error, setError] = useState('');
  const src = video.playback?.masterUrl;
  // Picture renditions are named by their height ("720p"); an audio-only upload has only "audio".
  const audioOnly = video.status === 'ready' && !video.rungs?.some((r) => /^\d+p$/.test(r));
  const cues = useStoryboard(video.playback?.storyboardUrl);

  useEffect(() => {
    onMedia?.(media);
    return () => onMedia?.(null);
  }, [media, onMedia]);

  useEffect(() => {
    const el = media;
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
      hls = new HlsImpl({ enableWebVTT: false, enableIMSC1: false, enableCEA708Captions: false, ...preferAV1 });
      hlsRef.current = hls;
      window.__sunomiHls = hls;
      hls.on(HlsImpl.Events.MANIFEST_PARSED, (_e, data) => setLevels(toLevels(data.levels)));
      hls.on(HlsImpl.Events.LEVELS_UPDATED, (_e, data) => setLevels(toLevels(data.levels)));
      hls.on(HlsImpl.Events.LEVEL_SWITCHED, (_e, data) => setPlaying(data.level));
      hls.on(HlsImpl.Events.ERROR, (_e, data) => {
        if (!data.fatal || !hls) return;
        if (data.type === HlsImpl.ErrorTypes.NETWORK_ERROR) hls.startLoad();
        else if (data.type === HlsImpl.ErrorTypes.MEDIA_ERROR) {
          // A browser that says it decodes AV1 and then fails to is left with H.264.
          const failed = data.frag?.type === 'main' ? data.frag.level : hls.currentLevel;
          const drop = av1Fallback(hls.levels, failed);
          for (const i of drop) hls.removeLevel(i);
          // Removing a level renumbers the others, and drops a manual choice of a removed one.
          if (drop.length > 0) setSelected(hls.manualLevel);
          hls.recoverMediaError();
        } else setError(`Playback failed: ${data.details}`);
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
  }, [src, media]);

  const select = (i: number) => {
    setSelected(i);
    const hls = hlsRef.current;
    if (!hls) return;
    // currentLevel switches at once (flushing the buffer); -1 goes back to automatic.
    hls.currentLevel = i;
  };

  const onKeyDown = (e: React.KeyboardEvent<HTMLElement>) => {
    const t = e.target as HTMLElement;
    // A control that used the key (a slider its arrows) has prevented its default. Menus render in
    // a portal, so React bubbles their keys here too; those keys are the menu's.
    if (!media || e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey || !e.currentTarget.contains(t) || isTextField(t)) return;
    const key = e.key.toLowerCase();
    if (key === 'arrowleft' || key === 'arrowright') {
      media.currentTime = Math.max(0, media.currentTime + (key === 'arrowleft' ? -5 : 5));
    } else if (key === ' ' && t.closest('button')) {
      return; // Space presses the focused button (Mute, Captions…), not Play
    } else if (key === ' ' || key === 'k' || key === 'm' || key === 'f') {
      // A held key repeats; a toggle should not flicker.
      if (!e.repeat) {
        if (key === 'm') toggleMute(media);
        else if (key === 'f') toggleFullscreen(container);
        else togglePlay(media);
      }
    } else return;
    e.preventDefault();
  };

  return (
    <Box>
      {/* Focusable (not tabbable) so that a click on the video puts focus, and the shortcuts, in the player. */}
      <Box
        ref={setContainer}
        tabIndex={-1}
        onKeyDown={onKeyDown}
        sx={{ outline: 'none', '&:fullscreen': { display: 'flex', flexDirection: 'column', p: 1, bgcolor: 'background.default' } }}
      >
        <Box
          sx={{
            position: 'relative',
            width: '100%',
            aspectRatio: '16 / 9',
            bgcolor: 'black',
            borderRadius: 1,
            overflow: 'hidden',
            ':fullscreen > &': { flex: 1, minHeight: 0, aspectRatio: 'auto' },
          }}
        >
          {/* eslint-disable-next-line jsx-a11y/media-has-caption -- the <track>s are the video's caption files, mapped below: the rule sees no literal one */}
          <video
            ref={setMedia}
            playsInline
            crossOrigin="anonymous"
            poster={video.playback?.posterUrl}
            aria-label={`Video: ${video.title}`}
            style={{ width: '100%', height: '100%', display: 'block', cursor: 'pointer' }}
            onClick={(e) => togglePlay(e.currentTarget)}
            onPlay={onPlay}
            onTimeUpdate={(e) => onTime?.(e.currentTarget.currentTime)}
          >
            {(video.captions ?? []).map((c) => (
              <track key={c.language} kind="subtitles" src={c.url} srcLang={c.language} label={c.label} />
            ))}
          </video>
          {audioOnly && (
            // An audio-only upload has no picture: say so instead of a black box.
            <Stack sx={{ position: 'absolute', inset: 0, alignItems: 'center', justifyContent: 'center', color: 'grey.400', pointerEvents: 'none' }}>
              <MusicNoteIcon sx={{ fontSize: 64 }} />
              <Typography>Audio only</Typography>
            </Stack>
          )}
        </Box>
        <PlayerControls
          media={media}
          container={container}
          duration={video.durationSeconds}
          cues={cues}
          captions={video.captions}
          quality={<QualityMenu levels={levels} selected={selected} playing={playing} onSelect={select} />}
        />
      </Box>
      {error && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {error}
        </Alert>
      )}
    </Box>
  );
}
