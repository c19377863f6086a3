import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Video } from '../api/client';
import { Player } from './Player';

vi.mock('hls.js', () => {
  class FakeHls {
    static isSupported = () => true;
    static Events = { MANIFEST_PARSED: 'manifestParsed', LEVEL_SWITCHED: 'levelSwitched', ERROR: 'error' };
    static ErrorTypes = {};
    on() {}
    loadSource() {}
    attachMedia() {}
    destroy() {}
  }
  return { default: FakeHls };
});

const now = new Date().toISOString();
const video: Video = {
  id: 'abcdefghijk',
  title: 'Captioned',
  description: '',
  tags: [],
  visibility: 'public',
  status: 'ready',
  owner: { username: 'ann', displayName: 'Ann' },
  playback: { masterUrl: '/media/abcdefghijk/master.m3u8' },
  rungs: ['360p', '240p'],
  stats: { views: 0, likes: 0, dislikes: 0, comments: 0 },
  createdAt: now,
  updatedAt: now,
};

afterEach(cleanup);

// jsdom's media element keeps muted and currentTime but cannot play: the fake plays the
// browser's part, changing paused and then firing the event.
function fakePlayback(el: HTMLMediaElement) {
  let paused = true;
  Object.defineProperty(el, 'paused', { configurable: true, get: () => paused });
  const emit = (type: string) => act(() => void el.dispatchEvent(new Event(type)));
  const play = vi.fn(async () => {
    paused = false;
    el.dispatchEvent(new Event('play'));
  });
  const pause = vi.fn(() => {
    paused = true;
    el.dispatchEvent(new Event('pause'));
  });
  Object.assign(el, { play, pause });
  return { play, pause, emit };
}

describe('Player captions', () => {
  it('renders a subtitles track per caption', () => {
    render(
      <Player
        video={{
          ...video,
          captions: [
            { language: 'en', label: 'English', source: 'upload', url: '/media/abcdefghijk/subs/en/captions.vtt' },
            { language: 'fr', label: 'Français (auto)', source: 'transcription', url: '/media/abcdefghijk/subs/fr/captions.vtt' },
          ],
        }}
      />,
    );
    const el = screen.getByLabelText('Video: Captioned');
    const tracks = el.querySelectorAll('track');
    expect(tracks).toHaveLength(2);
    expect(tracks[0]).toHaveAttribute('kind', 'subtitles');
    expect(tracks[0]).toHaveAttribute('srclang', 'en');
    expect(tracks[0]).toHaveAttribute('label', 'English');
    expect(tracks[0]).toHaveAttribute('src', '/media/abcdefghijk/subs/en/captions.vtt');
    expect(tracks[1]).toHaveAttribute('srclang', 'fr');
    expect(tracks[1]).toHaveAttribute('label', 'Français (auto)');
    expect(tracks[1]).toHaveAttribute('src', '/media/abcdefghijk/subs/fr/captions.vtt');
  });

  it('renders no track without captions', () => {
    render(<Player video={video} />);
    expect(screen.getByLabelText('Video: Captioned').querySelector('track')).toBeNull();
  });

  it('renders no track for an empty caption list', () => {
    render(<Player video={{ ...video, captions: [] }} />);
    expect(screen.getByLabelText('Video: Captioned').querySelector('track')).toBeNull();
  });
});

describe('Player controls', () => {
  it('has our control bar instead of the native one, with a single seek bar', () => {
    render(<Player video={{ ...video, captions: [{ language: 'en', label: 'English', source: 'upload', url: '/media/abcdefghijk/subs/en/captions.vtt' }] }} />);
    expect(screen.getByLabelText('Video: Captioned')).not.toHaveAttribute('controls');
    expect(screen.getAllByRole('slider', { name: 'Seek' })).toHaveLength(1);
    for (const name of ['Play', 'Mute', 'Captions', /^Quality/]) expect(screen.getByRole('button', { name })).toBeInTheDocument();
  });

  it('plays and pauses with a click on the video, and still reports play and time', async () => {
    const onPlay = vi.fn();
    const onTime = vi.fn();
    render(<Player video={video} onPlay={onPlay} onTime={onTime} />);
    const el = screen.getByLabelText<HTMLVideoElement>('Video: Captioned');
    const { play, pause, emit } = fakePlayback(el);
    await userEvent.click(el);
    expect(play).toHaveBeenCalledTimes(1);
    expect(onPlay).toHaveBeenCalledTimes(1);
    expect(screen.getByRole('button', { name: 'Pause' })).toBeInTheDocument();
    el.currentTime = 3;
    emit('timeupdate');
    expect(onTime).toHaveBeenLastCalledWith(3);
    await userEvent.click(el);
    expect(pause).toHaveBeenCalledTimes(1);
    expect(screen.getByRole('button', { name: 'Play' })).toBeInTheDocument();
  });

  it('takes Space, k and m inside the player', async () => {
    render(<Player video={video} />);
    const el = screen.getByLabelText<HTMLVideoElement>('Video: Captioned');
    const { play, pause } = fakePlayback(el);
    // A click on the video puts focus in the player, so its keys work from there.
    await userEvent.click(el);
    expect(play).toHaveBeenCalledTimes(1);
    await userEvent.keyboard(' ');
    expect(pause).toHaveBeenCalledTimes(1);
    await userEvent.keyboard('k');
    expect(play).toHaveBeenCalledTimes(2);
    await userEvent.keyboard('m');
    expect(el.muted).toBe(true);
    expect(screen.getByRole('button', { name: 'Unmute' })).toBeInTheDocument();
    await userEvent.keyboard('M');
    expect(el.muted).toBe(false);
    // On a focused button Space presses that button; k still plays and pauses.
    act(() => screen.getByRole('button', { name: 'Mute' }).focus());
    await userEvent.keyboard(' ');
    expect(el.muted).toBe(true);
    expect(pause).toHaveBeenCalledTimes(1);
    await userEvent.keyboard('k');
    expect(pause).toHaveBeenCalledTimes(2);
    act(() => screen.getByRole('button', { name: 'Play' }).focus());
    await userEvent.keyboard(' ');
    expect(play).toHaveBeenCalledTimes(3);
    // With a modifier the key is the browser's.
    fireEvent.keyDown(el, { key: 'k', ctrlKey: true });
    expect(pause).toHaveBeenCalledTimes(2);
  });

  it('seeks 5 s with the arrows, once when the seek bar has focus', () => {
    render(<Player video={{ ...video, durationSeconds: 30 }} />);
    const el = screen.getByLabelText<HTMLVideoElement>('Video: Captioned');
    el.currentTime = 12;
    fireEvent.keyDown(screen.getByRole('button', { name: 'Play' }), { key: 'ArrowRight' });
    expect(el.currentTime).toBe(17);
    fireEvent.keyDown(el, { key: 'ArrowLeft' });
    expect(el.currentTime).toBe(12);
    fireEvent.keyDown(el, { key: 'ArrowLeft' });
    fireEvent.keyDown(el, { key: 'ArrowLeft' });
    fireEvent.keyDown(el, { key: 'ArrowLeft' });
    expect(el.currentTime).toBe(0);
    fireEvent.keyDown(screen.getByRole('slider', { name: 'Seek' }), { key: 'ArrowRight' });
    expect(el.currentTime).toBe(5);
    // The volume slider's arrows are the volume's.
    fireEvent.keyDown(screen.getByRole('slider', { name: 'Volume' }), { key: 'ArrowLeft' });
    expect(el.currentTime).toBe(5);
  });
});

describe('Player for audio', () => {
  it('says a video whose only rendition is audio is audio only', () => {
    render(<Player video={{ ...video, rungs: ['audio'] }} />);
    expect(screen.getByText('Audio only')).toBeInTheDocument();
  });

  it('shows no such notice over a picture', () => {
    render(<Player video={video} />);
    expect(screen.queryByText('Audio only')).not.toBeInTheDocument();
  });
});
