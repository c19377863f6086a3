import { useRef, useState } from 'react';
import { Box } from '@mui/material';
import { formatDuration } from '../format';
import { cueAt, spritePixels, type StoryboardCue } from '../lib/storyboard';

export interface SeekBarProps {
  /** The playback position and the length in seconds. */
  current: number;
  duration: number;
  onSeek: (seconds: number) => void;
  /** The storyboard's cues, for thumbnails of the time under the pointer (none: the time alone). */
  cues?: StoryboardCue[];
}

const clock = (s: number) => formatDuration(Math.max(0, Math.floor(s)));

/**
 * SeekBar is a slider over the video's length that previews the time under the pointer, or the
 * time keyboard focus moves to, with its storyboard thumbnail.
 */
export function SeekBar({ current, duration, onSeek, cues }: SeekBarProps) {
  const bar = useRef<HTMLDivElement>(null);
  // The time previewed and where, as a fraction of the bar; null hides the preview.
  const [hover, setHover] = useState<{ time: number; frac: number } | null>(null);
  const [focused, setFocused] = useState(false);
  const [dragging, setDragging] = useState(false);
  const len = duration > 0 && isFinite(duration) ? duration : 0;

  const at = (clientX: number) => {
    const r = bar.current!.getBoundingClientRect();
    const frac = r.width > 0 ? Math.min(1, Math.max(0, (clientX - r.left) / r.width)) : 0;
    return { time: frac * len, frac };
  };
  const seekKey = (t: number) => {
    const time = Math.min(len, Math.max(0, t));
    onSeek(time);
    setHover({ time, frac: len ? time / len : 0 });
  };
  const onKeyDown = (e: React.KeyboardEvent) => {
    if (!len) return;
    const step = { ArrowLeft: -5, ArrowDown: -5, ArrowRight: 5, ArrowUp: 5, PageDown: -10, PageUp: 10 }[e.key];
    if (step !== undefined) seekKey(current + step);
    else if (e.key === 'Home') seekKey(0);
    else if (e.key === 'End') seekKey(len);
    else return;
    e.preventDefault();
  };

  const shown = hover ?? (focused && len ? { time: current, frac: current / len } : null);
  const cue = shown && cues ? cueAt(cues, shown.time) : undefined;
  const thumbWidth = cue?.w || 160;
  const played = len ? Math.min(100, (current / len) * 100) : 0;

  return (
    <Box sx={{ position: 'relative', py: 1, cursor: len ? 'pointer' : 'default', touchAction: 'none' }}>
      <Box
        ref={bar}
        role="slider"
        tabIndex={0}
        aria-label="Seek"
        aria-valuemin={0}
        aria-valuemax={Math.round(len)}
        aria-valuenow={Math.round(current)}
        aria-valuetext={`${clock(current)} of ${clock(len)}`}
        aria-disabled={!len || undefined}
        data-testid="seek-bar"
        onPointerMove={(e) => {
          if (!len) return;
          const h = at(e.clientX);
          setHover(h);
          if (dragging) onSeek(h.time);
        }}
        onPointerLeave={() => !dragging && setHover(null)}
        onPointerDown={(e) => {
          if (!len) return;
          e.currentTarget.setPointerCapture?.(e.pointerId);
          setDragging(true);
          const h = at(e.clientX);
          setHover(h);
          onSeek(h.time);
        }}
        onPointerUp={(e) => {
          setDragging(false);
          if (e.pointerType === 'touch') setHover(null);
        }}
        onPointerCancel={() => {
          setDragging(false);
          setHover(null);
        }}
        onFocus={() => setFocused(true)}
        onBlur={() => {
          setFocused(false);
          setHover(null);
        }}
        onKeyDown={onKeyDown}
        sx={{
          position: 'relative',
          height: 6,
          borderRadius: 3,
          bgcolor: 'action.disabledBackground',
          outline: 'none',
          '&:hover, &:focus-visible': { height: 8, my: '-1px' },
          '&:focus-visible': { boxShadow: (t) => `0 0 0 2px ${t.palette.primary.main}` },
        }}
      >
        <Box sx={{ position: 'absolute', inset: 0, right: 'auto', width: `${played}%`, borderRadius: 3, bgcolor: 'primary.main' }} />
        {shown && (
          <Box
            data-testid="seek-preview"
            aria-hidden
            sx={{
              position: 'absolute',
              bottom: '100%',
              mb: 1.5,
              // Centred on the pointer, but kept over the bar.
              left: `clamp(${thumbWidth / 2}px, ${shown.frac * 100}%, calc(100% - ${thumbWidth / 2}px))`,
              transform: 'translateX(-50%)',
              pointerEvents: 'none',
              zIndex: 2,
              display: 'flex',
              flexDirection: 'column',
              alignItems: 'center',
            }}
          >
            {cue && (
              <Box
                data-testid="seek-preview-thumb"
                style={spritePixels(cue)}
                sx={{
                  border: 2,
                  borderColor: 'common.white',
                  borderRadius: 1,
                  bgcolor: 'grey.900',
                  boxShadow: 3,
                  ...(cue.w ? {} : { width: 160, aspectRatio: '16 / 9' }),
                }}
              />
            )}
            <Box
              sx={{ mt: 0.5, px: 0.75, borderRadius: 0.5, bgcolor: 'rgba(0,0,0,.8)', color: 'common.white', fontSize: 12, fontVariantNumeric: 'tabular-nums' }}
            >
              {clock(shown.time)}
            </Box>
          </Box>
        )}
      </Box>
    </Box>
  );
}
