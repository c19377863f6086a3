import { act, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter } from 'react-router-dom';
import type { Video } from '../api/client';
import { clearStoryboardCache } from '../lib/storyboard';
import { FRAME_MS, REST_MS } from './HoverPreview';
import { VideoCard } from './VideoGrid';

// Twelve 1-second thumbnails of 160×90 in one row.
const VTT =
  'WEBVTT\n' +
  Array.from(
    { length: 12 },
    (_, i) => `\n00:${String(i).padStart(2, '0')}.000 --> 00:${String(i + 1).padStart(2, '0')}.000\nstoryboard.jpg?token=tk#xywh=${i * 160},0,160,90\n`,
  ).join('');

const video = {
  id: 'v1',
  title: 'Clip',
  status: 'ready',
  durationSeconds: 12,
  owner: { username: 'ann', displayName: 'Ann' },
  stats: { views: 1, likes: 0, dislikes: 0, comments: 0 },
  createdAt: new Date().toISOString(),
  playback: { masterUrl: '/media/v1/hls/master.m3u8', posterUrl: '/media/v1/hls/poster.jpg?token=tk', storyboardUrl: '/media/v1/hls/storyboard.vtt?token=tk' },
} as unknown as Video;

function renderCard() {
  const utils = render(
    <MemoryRouter>
      <VideoCard video={video} />
    </MemoryRouter>,
  );
  const thumb = utils.container.querySelector('img')!.parentElement!;
  return { ...utils, thumb };
}

const advance = (ms: number) => act(() => vi.advanceTimersByTimeAsync(ms));
const reducedMotion = (reduce: boolean) =>
  vi.stubGlobal('matchMedia', (q: string) => ({ matches: reduce && q.includes('reduce'), media: q, addEventListener() {}, removeEventListener() {} }));

let fetch: ReturnType<typeof vi.fn>;
beforeEach(() => {
  vi.useFakeTimers();
  fetch = vi.fn(async () => new Response(VTT));
  vi.stubGlobal('fetch', fetch);
});
afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
  clearStoryboardCache();
});

describe('VideoCard hover preview', () => {
  it('loads the storyboard on the first rest and cycles frames until the pointer leaves', async () => {
    reducedMotion(false);
    const { thumb } = renderCard();
    await advance(5 * REST_MS);
    expect(fetch).not.toHaveBeenCalled();

    fireEvent.pointerEnter(thumb, { pointerType: 'mouse' });
    await advance(REST_MS);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(fetch).toHaveBeenCalledWith('/media/v1/hls/storyboard.vtt?token=tk');
    const preview = screen.getByTestId('card-preview');
    const positions = [preview.style.backgroundPosition];
    expect(preview.style.backgroundImage).toBe('url("http://localhost:3000/media/v1/hls/storyboard.jpg?token=tk")');
    expect(preview.style.backgroundSize).toBe('1200% 100%');
    for (let i = 0; i < 3; i++) {
      await advance(FRAME_MS);
      positions.push(screen.getByTestId('card-preview').style.backgroundPosition);
    }
    // Six frames spread over twelve thumbnails: 1, 3, 5, 7, … of 0–11, as percentages of 11.
    expect(positions).toEqual(['9.090909090909092% 0%', '27.27272727272727% 0%', '45.45454545454545% 0%', '63.63636363636363% 0%']);

    fireEvent.pointerLeave(thumb);
    expect(screen.queryByTestId('card-preview')).toBeNull();
    expect(thumb.querySelector('img')).toHaveAttribute('src', '/media/v1/hls/poster.jpg?token=tk');

    // Again: no second fetch, and it starts from the first frame.
    fireEvent.pointerEnter(thumb, { pointerType: 'mouse' });
    await advance(REST_MS);
    expect(fetch).toHaveBeenCalledTimes(1);
    expect(screen.getByTestId('card-preview').style.backgroundPosition).toBe(positions[0]);
  });

  it('does not start when the pointer passes by', async () => {
    reducedMotion(false);
    const { thumb } = renderCard();
    fireEvent.pointerEnter(thumb, { pointerType: 'mouse' });
    await advance(REST_MS / 2);
    fireEvent.pointerLeave(thumb);
    await advance(3 * REST_MS);
    expect(fetch).not.toHaveBeenCalled();
    expect(screen.queryByTestId('card-preview')).toBeNull();
  });

  it('does not cycle with prefers-reduced-motion', async () => {
    reducedMotion(true);
    const { thumb } = renderCard();
    fireEvent.pointerEnter(thumb, { pointerType: 'mouse' });
    await advance(REST_MS + 5 * FRAME_MS);
    expect(fetch).not.toHaveBeenCalled();
    expect(screen.queryByTestId('card-preview')).toBeNull();
    expect(thumb.querySelector('img')).toBeInTheDocument();
  });
});
