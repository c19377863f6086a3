import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { MemoryRouter } from 'react-router-dom';
import type { Video } from '../api/client';
import { clearStoryboardCache, parseStoryboard } from '../lib/storyboard';
import { Player } from './Player';
import { SeekBar } from './SeekBar';

// Ten 1-second thumbnails of 160×90 in a sprite of 5 columns.
const VTT =
  'WEBVTT\n' +
  Array.from(
    { length: 10 },
    (_, i) =>
      `\n00:00:0${i}.000 --> 00:00:${String(i + 1).padStart(2, '0')}.000\nstoryboard.jpg?token=tk#xywh=${(i % 5) * 160},${Math.floor(i / 5) * 90},160,90\n`,
  ).join('');
const cues = parseStoryboard(VTT, 'http://localhost:3000/media/v1/hls/storyboard.vtt?token=tk');

// jsdom lays nothing out: the bar is 200 px wide, from x = 100.
function layOut(el: HTMLElement) {
  vi.spyOn(el, 'getBoundingClientRect').mockReturnValue({ left: 100, width: 200, top: 0, height: 6, right: 300, bottom: 6, x: 100, y: 0, toJSON: () => ({}) });
}

afterEach(() => {
  vi.unstubAllGlobals();
  vi.restoreAllMocks();
  clearStoryboardCache();
});

describe('SeekBar', () => {
  it('previews the storyboard region and time under the pointer', () => {
    render(<SeekBar current={0} duration={10} cues={cues} onSeek={() => {}} />);
    const bar = screen.getByRole('slider', { name: 'Seek' });
    layOut(bar);
    expect(screen.queryByTestId('seek-preview')).toBeNull();
    // 7.5 s: the eighth thumbnail, second row, third column.
    fireEvent.pointerMove(bar, { clientX: 250 });
    const thumb = screen.getByTestId('seek-preview-thumb');
    expect(thumb.style.backgroundImage).toBe('url("http://localhost:3000/media/v1/hls/storyboard.jpg?token=tk")');
    expect(thumb.style.backgroundPosition).toBe('-320px -90px');
    expect(thumb.style.width).toBe('160px');
    expect(screen.getByTestId('seek-preview')).toHaveTextContent('0:07');
    fireEvent.pointerMove(bar, { clientX: 101 });
    expect(screen.getByTestId('seek-preview-thumb').style.backgroundPosition).toBe('0px 0px');
    fireEvent.pointerLeave(bar);
    expect(screen.queryByTestId('seek-preview')).toBeNull();
  });

  it('seeks on click and with the keyboard, previewing where focus moves', () => {
    const onSeek = vi.fn();
    const { rerender } = render(<SeekBar current={2} duration={10} cues={cues} onSeek={onSeek} />);
    const bar = screen.getByRole('slider', { name: 'Seek' });
    layOut(bar);
    expect(bar).toHaveAttribute('aria-valuetext', '0:02 of 0:10');
    fireEvent.pointerDown(bar, { clientX: 200, pointerId: 1 });
    expect(onSeek).toHaveBeenLastCalledWith(5);
    fireEvent.pointerUp(bar, { pointerId: 1 });
    fireEvent.pointerLeave(bar);
    act(() => bar.focus());
    // Focus shows the current position.
    expect(screen.getByTestId('seek-preview')).toHaveTextContent('0:02');
    expect(screen.getByTestId('seek-preview-thumb').style.backgroundPosition).toBe('-320px 0px');
    fireEvent.keyDown(bar, { key: 'ArrowRight' });
    expect(onSeek).toHaveBeenLastCalledWith(7);
    rerender(<SeekBar current={7} duration={10} cues={cues} onSeek={onSeek} />);
    expect(screen.getByTestId('seek-preview')).toHaveTextContent('0:07');
    expect(screen.getByTestId('seek-preview-thumb').style.backgroundPosition).toBe('-320px -90px');
    fireEvent.keyDown(bar, { key: 'Home' });
    expect(onSeek).toHaveBeenLastCalledWith(0);
    act(() => bar.blur());
    expect(screen.queryByTestId('seek-preview')).toBeNull();
  });

  it('shows the time alone without a storyboard', () => {
    render(<SeekBar current={0} duration={10} onSeek={() => {}} />);
    const bar = screen.getByRole('slider', { name: 'Seek' });
    layOut(bar);
    fireEvent.pointerMove(bar, { clientX: 300 });
    expect(screen.getByTestId('seek-preview')).toHaveTextContent('0:10');
    expect(screen.queryByTestId('seek-preview-thumb')).toBeNull();
  });
});

describe('Player', () => {
  it("loads the video's storyboard for the seek bar", async () => {
    const fetch = vi.fn(async () => new Response(VTT));
    vi.stubGlobal('fetch', fetch);
    const video = {
      id: 'v1',
      title: 'Clip',
      durationSeconds: 10,
      captions: [],
      playback: {
        masterUrl: '/media/v1/hls/master.m3u8?token=tk',
        posterUrl: '/media/v1/hls/poster.jpg?token=tk',
        storyboardUrl: '/media/v1/hls/storyboard.vtt?token=tk',
      },
    } as unknown as Video;
    render(
      <MemoryRouter>
        <Player video={video} />
      </MemoryRouter>,
    );
    expect(fetch).toHaveBeenCalledWith('/media/v1/hls/storyboard.vtt?token=tk');
    const bar = screen.getByRole('slider', { name: 'Seek' });
    layOut(bar);
    await waitFor(() => {
      fireEvent.pointerMove(bar, { clientX: 130 });
      expect(screen.getByTestId('seek-preview-thumb').style.backgroundPosition).toBe('-160px 0px');
    });
  });
});
