import { act, cleanup, fireEvent, render, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { PlayerControls } from './PlayerControls';

// jsdom's media element keeps muted, volume and currentTime but cannot play: the fake holds the
// read-only state, and emit() plays the browser's part, changing it and then firing the event.
function fakeMedia() {
  const el = document.createElement('video');
  const state = { paused: true, ended: false, duration: NaN };
  for (const k of Object.keys(state) as (keyof typeof state)[]) Object.defineProperty(el, k, { configurable: true, get: () => state[k] });
  const play = vi.fn(() => Promise.resolve());
  const pause = vi.fn();
  Object.assign(el, { play, pause });
  const emit = (type: string, change: Partial<typeof state> = {}) =>
    act(() => {
      Object.assign(state, change);
      el.dispatchEvent(new Event(type));
    });
  return { el, play, pause, emit };
}

function fakeTracks(el: HTMLMediaElement) {
  const tracks = [
    { kind: 'subtitles', language: 'en', label: 'English', mode: 'disabled' },
    { kind: 'subtitles', language: 'fr', label: 'Français', mode: 'disabled' },
    { kind: 'metadata', language: '', label: 'id3', mode: 'hidden' },
  ];
  Object.defineProperty(el, 'textTracks', { configurable: true, value: tracks });
  return tracks;
}

const captions = [
  { language: 'en', label: 'English' },
  { language: 'fr', label: 'Français' },
];

afterEach(() => {
  cleanup();
  for (const k of ['fullscreenEnabled', 'fullscreenElement', 'exitFullscreen'] as const) delete (document as unknown as Record<string, unknown>)[k];
});

describe('PlayerControls', () => {
  it("plays and pauses the media, showing what the media's events report", async () => {
    const { el, play, pause, emit } = fakeMedia();
    render(<PlayerControls media={el} container={null} />);
    await userEvent.click(screen.getByRole('button', { name: 'Play' }));
    expect(play).toHaveBeenCalledTimes(1);
    // Asking is not playing: the label waits for the play event.
    expect(screen.getByRole('button', { name: 'Play' })).toBeInTheDocument();
    emit('play', { paused: false });
    await userEvent.click(screen.getByRole('button', { name: 'Pause' }));
    expect(pause).toHaveBeenCalledTimes(1);
    emit('pause', { paused: true });
    expect(screen.getByRole('button', { name: 'Play' })).toBeInTheDocument();
    emit('play', { paused: false });
    emit('ended', { paused: true, ended: true });
    expect(screen.getByRole('button', { name: 'Play' })).toBeInTheDocument();
  });

  it('mutes, unmutes and sets the volume', async () => {
    const { el } = fakeMedia();
    render(<PlayerControls media={el} container={null} />);
    const volume = screen.getByRole('slider', { name: 'Volume' });
    expect(volume).toHaveAttribute('aria-valuenow', '100');
    await userEvent.click(screen.getByRole('button', { name: 'Mute' }));
    expect(el.muted).toBe(true);
    expect(volume).toHaveAttribute('aria-valuenow', '0');
    await userEvent.click(screen.getByRole('button', { name: 'Unmute' }));
    expect(el.muted).toBe(false);
    fireEvent.change(volume, { target: { value: 30 } });
    expect(el.volume).toBe(0.3);
    expect(volume).toHaveAttribute('aria-valuenow', '30');
    fireEvent.change(volume, { target: { value: 0 } });
    expect(el.muted).toBe(true);
    // Unmuting at volume 0 brings the sound back.
    await userEvent.click(screen.getByRole('button', { name: 'Unmute' }));
    expect(el.muted).toBe(false);
    expect(el.volume).toBe(1);
    // Muted from outside (as the end-to-end test does): the button follows volumechange.
    act(() => void (el.muted = true));
    expect(screen.getByRole('button', { name: 'Unmute' })).toBeInTheDocument();
  });

  it('shows the time as the media reports it', () => {
    const { el, emit } = fakeMedia();
    render(<PlayerControls media={el} container={null} duration={30} />);
    const time = screen.getByTestId('player-time');
    // The video's own length stands in until the media knows its own.
    expect(time).toHaveTextContent('0:00 / 0:30');
    emit('durationchange', { duration: 61.5 });
    expect(time).toHaveTextContent('0:00 / 1:01');
    el.currentTime = 12.7;
    expect(time).toHaveTextContent('0:00 / 1:01');
    emit('timeupdate');
    expect(time).toHaveTextContent('0:12 / 1:01');
    expect(screen.getByRole('slider', { name: 'Seek' })).toHaveAttribute('aria-valuenow', '13');
  });

  it('seeks the media from its one seek bar', () => {
    const { el } = fakeMedia();
    render(<PlayerControls media={el} container={null} duration={30} />);
    const bars = screen.getAllByRole('slider', { name: 'Seek' });
    expect(bars).toHaveLength(1);
    fireEvent.keyDown(bars[0], { key: 'ArrowRight' });
    fireEvent.keyDown(bars[0], { key: 'ArrowRight' });
    expect(el.currentTime).toBe(10);
    expect(screen.getByTestId('player-time')).toHaveTextContent('0:10 / 0:30');
  });

  it('switches captions by the text tracks’ modes', async () => {
    const { el } = fakeMedia();
    const tracks = fakeTracks(el);
    render(<PlayerControls media={el} container={null} captions={captions} />);
    await userEvent.click(screen.getByRole('button', { name: 'Captions' }));
    expect(screen.getAllByRole('menuitemradio').map((i) => i.textContent)).toEqual(['Off', 'English', 'Français']);
    expect(screen.getByRole('menuitemradio', { name: 'Off' })).toHaveAttribute('aria-checked', 'true');
    await userEvent.click(screen.getByRole('menuitemradio', { name: 'Français' }));
    expect(tracks.map((t) => t.mode)).toEqual(['disabled', 'showing', 'hidden']);
    await userEvent.click(screen.getByRole('button', { name: 'Captions' }));
    expect(screen.getByRole('menuitemradio', { name: 'Français' })).toHaveAttribute('aria-checked', 'true');
    await userEvent.click(screen.getByRole('menuitemradio', { name: 'English' }));
    expect(tracks.map((t) => t.mode)).toEqual(['showing', 'disabled', 'hidden']);
    await userEvent.click(screen.getByRole('button', { name: 'Captions' }));
    await userEvent.click(screen.getByRole('menuitemradio', { name: 'Off' }));
    // The metadata track (hls.js's ID3) is not a caption: it keeps its mode.
    expect(tracks.map((t) => t.mode)).toEqual(['disabled', 'disabled', 'hidden']);
  });

  it('offers no captions button without captions', () => {
    render(<PlayerControls media={fakeMedia().el} container={null} captions={[]} />);
    expect(screen.queryByRole('button', { name: 'Captions' })).toBeNull();
  });

  it('offers no full screen without the Fullscreen API', () => {
    // As jsdom, and iPhone Safari for anything but a <video>.
    render(<PlayerControls media={fakeMedia().el} container={document.createElement('div')} />);
    expect(screen.queryByRole('button', { name: 'Full screen' })).toBeNull();
  });

  it('puts the container in full screen, and opens its menus inside it there', async () => {
    const { el } = fakeMedia();
    fakeTracks(el);
    const container = document.body.appendChild(document.createElement('div'));
    let fullscreenElement: Element | null = null;
    const requestFullscreen = vi.fn(() => Promise.resolve());
    const exitFullscreen = vi.fn(() => Promise.resolve());
    Object.defineProperty(document, 'fullscreenEnabled', { configurable: true, value: true });
    Object.defineProperty(document, 'fullscreenElement', { configurable: true, get: () => fullscreenElement });
    Object.defineProperty(document, 'exitFullscreen', { configurable: true, value: exitFullscreen });
    container.requestFullscreen = requestFullscreen;
    render(<PlayerControls media={el} container={container} captions={captions} />, { container });
    await userEvent.click(screen.getByRole('button', { name: 'Full screen' }));
    expect(requestFullscreen).toHaveBeenCalledTimes(1);
    act(() => {
      fullscreenElement = container;
      document.dispatchEvent(new Event('fullscreenchange'));
    });
    await userEvent.click(screen.getByRole('button', { name: 'Captions' }));
    expect(within(container).getByRole('menu')).toBeInTheDocument();
    await userEvent.keyboard('{Escape}');
    await userEvent.click(screen.getByRole('button', { name: 'Exit full screen' }));
    expect(exitFullscreen).toHaveBeenCalledTimes(1);
    act(() => {
      fullscreenElement = null;
      document.dispatchEvent(new Event('fullscreenchange'));
    });
    expect(screen.getByRole('button', { name: 'Full screen' })).toBeInTheDocument();
    container.remove();
  });
});
