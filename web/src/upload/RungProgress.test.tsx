import { render, screen } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import { RungProgress, rungOrder } from './RungProgress';
import { eventsURL } from './useVideoEvents';
import { takeFragment } from '../auth';

describe('RungProgress', () => {
  it('orders rungs tallest first and labels each bar', () => {
    expect(rungOrder({ '360p': 1, '1080p': 2, '720p': 3 }).map(([r]) => r)).toEqual(['1080p', '720p', '360p']);
    render(
      <RungProgress
        event={{
          videoId: 'v',
          status: 'processing',
          progress: { overall: 42, rungs: { '360p': 50, '720p': 34 } },
          chunksDone: 1,
          chunksTotal: 3,
          playable: false,
          etaSeconds: 4.2,
        }}
      />,
    );
    expect(screen.getByText(/Transcoding: 42% · 1\/3 chunks · about 5 s left/)).toBeInTheDocument();
    expect(screen.getByRole('progressbar', { name: 'Transcoding progress, 720p' })).toHaveAttribute('aria-valuenow', '34');
  });
});

describe('helpers', () => {
  it('builds the events URL on the page origin', () => {
    expect(eventsURL('abc', { protocol: 'https:', host: 'x.example' })).toBe('wss://x.example/api/v1/videos/abc/events');
    expect(eventsURL('abc', { protocol: 'http:', host: 'localhost:8080' })).toBe('ws://localhost:8080/api/v1/videos/abc/events');
  });
  it('reads the GitHub callback fragment', () => {
    expect(takeFragment('#code=abc')).toEqual({ code: 'abc', error: undefined });
    expect(takeFragment('#error=access_denied')).toEqual({ code: undefined, error: 'access_denied' });
    expect(takeFragment('')).toEqual({ code: undefined, error: undefined });
  });
});
