import { cleanup, render, screen } from '@testing-library/react';
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
  stats: { views: 0, likes: 0, dislikes: 0, comments: 0 },
  createdAt: now,
  updatedAt: now,
};

afterEach(cleanup);

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
