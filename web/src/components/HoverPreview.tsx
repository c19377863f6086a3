import { useEffect, useRef, useState } from 'react';
import { Box } from '@mui/material';
import { pickFrames, prefersReducedMotion, spriteFill, useStoryboard } from '../lib/storyboard';

/** How long the pointer rests before the preview starts, how long each frame shows, and how many. */
export const REST_MS = 300;
export const FRAME_MS = 700;
export const FRAMES = 6;

export interface HoverPreviewProps {
  storyboardUrl?: string;
  children: React.ReactNode;
}

/**
 * HoverPreview wraps a card's thumbnail: while the pointer rests on it, it cycles through a few
 * storyboard frames (loading the storyboard on the first such rest), and shows the thumbnail
 * again on leave. With prefers-reduced-motion it does nothing.
 */
export function HoverPreview({ storyboardUrl, children }: HoverPreviewProps) {
  const [active, setActive] = useState(false);
  const [frame, setFrame] = useState(0);
  const rest = useRef<ReturnType<typeof setTimeout>>(undefined);
  const cues = useStoryboard(storyboardUrl, active);
  const frames = active && cues ? pickFrames(cues, FRAMES) : [];

  useEffect(() => {
    if (frames.length < 2) return;
    const id = setInterval(() => setFrame((f) => (f + 1) % frames.length), FRAME_MS);
    return () => clearInterval(id);
  }, [frames.length]);
  useEffect(() => () => clearTimeout(rest.current), []);

  const enter = (e: React.PointerEvent) => {
    if (!storyboardUrl || e.pointerType === 'touch' || prefersReducedMotion()) return;
    clearTimeout(rest.current);
    rest.current = setTimeout(() => setActive(true), REST_MS);
  };
  const leave = () => {
    clearTimeout(rest.current);
    setActive(false);
    setFrame(0);
  };
  const cue = frames[frame % Math.max(1, frames.length)];

  return (
    <Box onPointerEnter={enter} onPointerLeave={leave} sx={{ position: 'absolute', inset: 0 }}>
      {children}
      {cue && (
        <Box
          data-testid="card-preview"
          data-frame={frame}
          aria-hidden
          style={spriteFill(cue)}
          sx={{ position: 'absolute', inset: 0, bgcolor: 'grey.900', pointerEvents: 'none' }}
        />
      )}
    </Box>
  );
}
