import { screen } from '@testing-library/react';
import { Route, Routes } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { json, renderPage, stubFetch } from '../test/harness';
import Channel from './Channel';

const now = new Date().toISOString();

afterEach(() => vi.unstubAllGlobals());

describe('Channel', () => {
  it("shows the channel's picture and bio", async () => {
    stubFetch((_req, path) => {
      if (path === '/api/v1/users/ann')
        return json({
          username: 'ann',
          displayName: 'Ann',
          avatarUrl: '/avatars/1/a.png',
          bio: 'I film trees.\nAnd clouds.',
          subscriberCount: 2,
          videoCount: 0,
          createdAt: now,
        });
      return json({ videos: [] });
    });
    renderPage(
      <Routes>
        <Route path="/channel/:username" element={<Channel />} />
      </Routes>,
      '/channel/ann',
    );
    expect(await screen.findByRole('heading', { name: 'Ann' })).toBeInTheDocument();
    expect(screen.getByTestId('channel-bio')).toHaveTextContent('I film trees. And clouds.');
    expect(document.querySelector('img[src="/avatars/1/a.png"]')).not.toBeNull();
  });

  it('shows no bio when there is none', async () => {
    stubFetch((_req, path) =>
      path === '/api/v1/users/bob'
        ? json({ username: 'bob', displayName: 'Bob', bio: '', subscriberCount: 0, videoCount: 0, createdAt: now })
        : json({ videos: [] }),
    );
    renderPage(
      <Routes>
        <Route path="/channel/:username" element={<Channel />} />
      </Routes>,
      '/channel/bob',
    );
    expect(await screen.findByRole('heading', { name: 'Bob' })).toBeInTheDocument();
    expect(screen.queryByTestId('channel-bio')).toBeNull();
  });
});
