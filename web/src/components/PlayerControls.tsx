import { useEffect, useMemo, useState, type ReactNode } from 'react';
import { IconButton, ListItemIcon, ListItemText, Menu, MenuItem, Slider, Stack, ThemeProvider, Typography, useTheme } from '@mui/material';
import CheckIcon from '@mui/icons-material/Check';
import ClosedCaptionIcon from '@mui/icons-material/ClosedCaption';
import ClosedCaptionOffIcon from '@mui/icons-material/ClosedCaptionOff';
import FullscreenIcon from '@mui/icons-material/Fullscreen';
import FullscreenExitIcon from '@mui/icons-material/FullscreenExit';
import PauseIcon from '@mui/icons-material/Pause';
import PlayArrowIcon from '@mui/icons-material/PlayArrow';
import ReplayIcon from '@mui/icons-material/Replay';
import VolumeDownIcon from '@mui/icons-material/VolumeDown';
import VolumeOffIcon from '@mui/icons-material/VolumeOff';
import VolumeUpIcon from '@mui/icons-material/VolumeUp';
import { formatDuration } from '../format';
import type { StoryboardCue } from '../lib/storyboard';
import { SeekBar } from './SeekBar';

export interface Caption {
  language: string;
  label: string;
}

export interface PlayerControlsProps {
  /** The element played: the controls show what its events report, never what they asked for. */
  media: HTMLMediaElement | null;
  /** What Full screen shows: the video together with these controls. */
  container: HTMLElement | null;
  /** The length to show until the media knows its own. */
  duration?: number;
  cues?: StoryboardCue[];
  /** The captions the media has <track> elements for. */
  captions?: Caption[];
  /** The quality menu, which belongs with the player's hls.js. */
  quality?: ReactNode;
}

export function togglePlay(media: HTMLMediaElement) {
  // play() rejects when the browser refuses (autoplay rules) or a pause cuts it short; the
  // controls follow the media's events, so there is nothing more to do.
  if (media.paused) media.play().catch(() => {});
  else media.pause();
}

export function toggleMute(media: HTMLMediaElement) {
  media.muted = !media.muted;
  // Unmuting at volume 0 would stay silent.
  if (!media.muted && media.volume === 0) media.volume = 1;
}

export function toggleFullscreen(container: HTMLElement | null) {
  if (!document.fullscreenEnabled || !container) return;
  // A refusal leaves the page as it is; fullscreenchange reports what happened.
  if (document.fullscreenElement) document.exitFullscreen().catch(() => {});
  else container.requestFullscreen().catch(() => {});
}

const clock = (s: number) => formatDuration(Math.max(0, Math.floor(s)));

const subtitles = (media: HTMLMediaElement | null) =>
  // Metadata tracks (hls.js keeps ID3 in one) are not the viewer's to switch off.
  Array.from(media?.textTracks ?? []).filter((t) => t.kind === 'subtitles' || t.kind === 'captions');

// In full screen the browser draws only the player, so menus opened in <body> would not show.
const menuContainer = () => document.fullscreenElement ?? document.body;

const MEDIA_EVENTS = ['play', 'pause', 'ended', 'volumechange', 'timeupdate', 'durationchange', 'seeking', 'emptied'];

function useMediaState(media: HTMLMediaElement | null) {
  const [state, setState] = useState({ paused: true, ended: false, muted: false, volume: 1, current: 0, duration: NaN });
  useEffect(() => {
    if (!media) return;
    const read = () =>
      setState({ paused: media.paused, ended: media.ended, muted: media.muted, volume: media.volume, current: media.currentTime, duration: media.duration });
    read();
    MEDIA_EVENTS.forEach((e) => media.addEventListener(e, read));
    return () => MEDIA_EVENTS.forEach((e) => media.removeEventListener(e, read));
  }, [media]);
  return [state, setState] as const;
}

/** PlayerControls is the player's control bar: seek bar, play, volume, time, captions, quality and full screen. */
export function PlayerControls({ media, container, duration, cues, captions = [], quality }: PlayerControlsProps) {
  const [state, setState] = useMediaState(media);
  const [caption, setCaption] = useState(''); // the language showing; '' is off
  const [captionMenu, setCaptionMenu] = useState<HTMLElement | null>(null);
  const [fullscreen, setFullscreen] = useState(false);
  // Every menu in the bar (the quality menu too) opens in menuContainer.
  const outer = useTheme();
  const theme = useMemo(() => {
    const popover = outer.components?.MuiPopover;
    return { ...outer, components: { ...outer.components, MuiPopover: { ...popover, defaultProps: { ...popover?.defaultProps, container: menuContainer } } } };
  }, [outer]);

  useEffect(() => {
    const list = media?.textTracks;
    if (!list) return;
    const read = () => setCaption(subtitles(media).find((t) => t.mode === 'showing')?.language ?? '');
    read();
    // Optional calls: jsdom's textTracks is a plain array, without events.
    list.addEventListener?.('change', read);
    return () => list.removeEventListener?.('change', read);
  }, [media]);

  useEffect(() => {
    const read = () => setFullscreen(!!container && document.fullscreenElement === container);
    document.addEventListener('fullscreenchange', read);
    return () => document.removeEventListener('fullscreenchange', read);
  }, [container]);

  const len = state.duration > 0 && isFinite(state.duration) ? state.duration : (duration ?? 0);
  const silent = state.muted || state.volume === 0;

  const seek = (t: number) => {
    if (!media) return;
    media.currentTime = t;
    // Keys pressed before the seeking event arrives step on from here.
    setState((s) => ({ ...s, current: t }));
  };
  const setVolume = (percent: number) => {
    if (!media) return;
    media.volume = percent / 100;
    media.muted = percent === 0;
  };
  const chooseCaption = (language: string) => {
    setCaptionMenu(null);
    subtitles(media).forEach((t) => (t.mode = t.language === language ? 'showing' : 'disabled'));
    setCaption(language);
  };

  return (
    <ThemeProvider theme={theme}>
      <SeekBar current={state.current} duration={len} cues={cues} onSeek={seek} />
      <Stack
        direction="row"
        role="group"
        aria-label="Player controls"
        sx={{ alignItems: 'center', gap: 0.5, '& .Mui-focusVisible': { outline: (t) => `2px solid ${t.palette.primary.main}` } }}
      >
        <IconButton size="small" aria-label={state.paused ? 'Play' : 'Pause'} onClick={() => media && togglePlay(media)}>
          {!state.paused ? <PauseIcon /> : state.ended ? <ReplayIcon /> : <PlayArrowIcon />}
        </IconButton>
        <IconButton size="small" aria-label={state.muted ? 'Unmute' : 'Mute'} onClick={() => media && toggleMute(media)}>
          {silent ? <VolumeOffIcon /> : state.volume < 0.5 ? <VolumeDownIcon /> : <VolumeUpIcon />}
        </IconButton>
        <Slider
          size="small"
          aria-label="Volume"
          value={silent ? 0 : Math.round(state.volume * 100)}
          getAriaValueText={(v) => `${v}%`}
          onChange={(_, v) => setVolume(v)}
          // Below sm the mute button is enough, and the bar keeps its width for the rest.
          sx={{ width: 80, mx: 1, flexShrink: 0, display: { xs: 'none', sm: 'inline-block' } }}
        />
        <Typography variant="body2" noWrap data-testid="player-time" sx={{ flex: 1, minWidth: 0, px: 0.5, fontVariantNumeric: 'tabular-nums' }}>
          {clock(state.current)} / {clock(len)}
        </Typography>
        {captions.length > 0 && (
          <>
            <IconButton
              size="small"
              aria-label="Captions"
              aria-haspopup="menu"
              aria-expanded={captionMenu ? 'true' : undefined}
              onClick={(e) => setCaptionMenu(e.currentTarget)}
            >
              {caption ? <ClosedCaptionIcon /> : <ClosedCaptionOffIcon />}
            </IconButton>
            <Menu anchorEl={captionMenu} open={!!captionMenu} onClose={() => setCaptionMenu(null)}>
              {[{ language: '', label: 'Off' }, ...captions].map((c) => (
                <MenuItem
                  key={c.language}
                  role="menuitemradio"
                  aria-checked={caption === c.language}
                  selected={caption === c.language}
                  onClick={() => chooseCaption(c.language)}
                >
                  <ListItemIcon>{caption === c.language && <CheckIcon fontSize="small" />}</ListItemIcon>
                  <ListItemText>{c.label}</ListItemText>
                </MenuItem>
              ))}
            </Menu>
          </>
        )}
        {quality}
        {document.fullscreenEnabled && (
          <IconButton size="small" aria-label={fullscreen ? 'Exit full screen' : 'Full screen'} onClick={() => toggleFullscreen(container)}>
            {fullscreen ? <FullscreenExitIcon /> : <FullscreenIcon />}
          </IconButton>
        )}
      </Stack>
    </ThemeProvider>
  );
}
