import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Video } from '../api/client';
import { Player } from './Player';

// The fake hls.js keeps its config, its levels and its handlers, so that a test can play the
// events hls.js sends and see what the player asks of it.
const hlsInstances = vi.hoisted(() => [] as FakeHlsInstance[]);
interface FakeLevel {
  height: number;
  bitrate: number;
  videoCodec?: string;
}
interface FakeHlsInstance {
  config: Record<string, unknown>;
  levels: FakeLevel[];
  currentLevel: number;
  manualLevel: number;
  removed: number[];
  recoveries: number;
  emit: (event: string, data: unknown) => void;
}

vi.mock('hls.js', () => {
  class FakeHls implements FakeHlsInstance {
    static isSupported = () => true;
    static Events = {
      MANIFEST_PARSED: 'manifestParsed',
      LEVELS_UPDATED: 'levelsUpdated',
      LEVEL_SWITCHED: 'levelSwitched',
      ERROR: 'error',
    };
    static ErrorTypes = { NETWORK_ERROR: 'networkError', MEDIA_ERROR: 'mediaError' };
    levels: FakeLevel[] = [];
    currentLevel = -1;
    manualLevel = -1;
    removed: number[] = [];
    recoveries = 0;
    handlers = new Map<string, (event: string, data: unknown) => void>();
    constructor(public config: Record<string, unknown>) {
      hlsInstances.push(this);
    }
    on(event: string, fn: (event: string, data: unknown) => void) {
      this.handlers.set(event, fn);
    }
    emit(event: string, data: unknown) {
      this.handlers.get(event)?.(event, data);
    }
    // As hls.js: the levels after it renumbers, and a manual choice of the removed level is dropped.
    removeLevel(i: number) {
      this.removed.push(i);
      this.levels = this.levels.filter((_, j) => j !== i);
      if (this.manualLevel === i) this.manualLevel = -1;
      else if (this.manualLevel > i) this.manualLevel--;
      this.emit('levelsUpdated', { levels: this.levels });
    }
    recoverMediaError() {
      this.recoveries++;
    }
    startLoad() {}
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

afterEach(() => {
  cleanup();
  hlsInstances.length = 0;
});

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

describe('Player codecs', () => {
  // A ladder with AV1 beside H.264, as hls.js sorts it: by height, then codec.
  const ladder: FakeLevel[] = [
    { height: 360, bitrate: 900_000, videoCodec: 'avc1.64001e' },
    { height: 360, bitrate: 500_000, videoCodec: 'av01.0.04M.08' },
    { height: 720, bitrate: 3_000_000, videoCodec: 'avc1.64001f' },
    { height: 720, bitrate: 1_800_000, videoCodec: 'av01.0.05M.08' },
  ];
  const started = async () => {
    render(<Player video={video} />);
    await vi.waitFor(() => expect(hlsInstances).toHaveLength(1));
    const hls = hlsInstances[0];
    hls.levels = [...ladder];
    act(() => hls.emit('manifestParsed', { levels: hls.levels }));
    return hls;
  };

  it('asks hls.js to prefer AV1, and says which codec plays in auto and manual choices', async () => {
    const hls = await started();
    expect(hls.config.videoPreference).toEqual({ videoCodec: 'av01' });
    act(() => hls.emit('levelSwitched', { level: 3 }));
    await userEvent.click(screen.getByRole('button', { name: 'Quality: Auto (720p · AV1)' }));
    const items = screen.getAllByRole('menuitem').map((i) => i.textContent);
    expect(items).toEqual(['Auto', '720p · H.264', '720p · AV1', '360p · H.264', '360p · AV1']);
    await userEvent.click(screen.getByRole('menuitem', { name: '360p · H.264' }));
    expect(hls.currentLevel).toBe(0);
    expect(screen.getByRole('button', { name: 'Quality: 360p · H.264' })).toBeInTheDocument();
  });

  it('falls back to H.264 when AV1 fails to decode', async () => {
    const hls = await started();
    hls.currentLevel = 3;
    hls.manualLevel = 3;
    await userEvent.click(screen.getByRole('button', { name: /^Quality/ }));
    await userEvent.click(screen.getByRole('menuitem', { name: '720p · AV1' }));
    act(() => hls.emit('error', { fatal: true, type: 'mediaError', details: 'bufferAppendError', frag: { type: 'main', level: 3 } }));
    expect(hls.removed).toEqual([3, 1]);
    expect(hls.recoveries).toBe(1);
    // The manual AV1 choice is gone with its level: back to automatic, over H.264 only.
    await userEvent.click(screen.getByRole('button', { name: 'Quality: Auto' }));
    expect(screen.getAllByRole('menuitem').map((i) => i.textContent)).toEqual(['Auto', '720p · H.264', '360p · H.264']);
  });

  it('keeps AV1 when an H.264 level fails', async () => {
    const hls = await started();
    act(() => hls.emit('error', { fatal: true, type: 'mediaError', details: 'bufferAppendError', frag: { type: 'main', level: 2 } }));
    expect(hls.removed).toEqual([]);
    expect(hls.recoveries).toBe(1);
  });
});
