import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import type { Video } from '../api/client';
import { json, renderPage, signedInDuringEachTest, stubFetch } from '../test/harness';
import History, { watchedPercent } from './History';

const now = new Date().toISOString();
const me = { id: 'u1', username: 'ann', displayName: 'Ann', role: 'user', createdAt: now };
const video = (id: string, title: string, durationSeconds?: number): Video => ({
  id,
  title,
  description: '',
  tags: [],
  visibility: 'public',
  status: 'ready',
  durationSeconds,
  owner: { username: 'olga', displayName: 'Olga' },
  stats: { views: 3, likes: 1, dislikes: 0, comments: 0 },
  createdAt: now,
  updatedAt: now,
});

signedInDuringEachTest();

describe('History', () => {
  it('lists watched videos with how far the viewer got, and clears them after asking', async () => {
    let items = [
      { video: video('vidHALF0001', 'Half watched', 120), positionSeconds: 60, watchedAt: now },
      { video: video('vidSTART001', 'Just started', 600), positionSeconds: 30, watchedAt: now },
    ];
    const deletes: string[] = [];
    stubFetch((req, path) => {
      if (path === '/api/v1/auth/me') return json(me);
      if (path === '/api/v1/me/history' && req.method === 'DELETE') {
        deletes.push(path);
        items = [];
        return new Response(null, { status: 204 });
      }
      if (path === '/api/v1/me/history') return json({ items });
      return json({}, 404);
    });
    renderPage(<History />, '/history');
    const list = await screen.findByRole('list', { name: 'Watched videos' });
    expect(await within(list).findAllByRole('listitem')).toHaveLength(2);
    expect(within(list).getByRole('progressbar', { name: 'Watched 50% of Half watched' })).toHaveAttribute('aria-valuenow', '50');
    expect(within(list).getByRole('progressbar', { name: 'Watched 5% of Just started' })).toHaveAttribute('aria-valuenow', '5');
    expect(within(list).getByText('Stopped at 1:00 of 2:00')).toBeInTheDocument();
    expect(within(list).getByRole('link', { name: 'Half watched' })).toHaveAttribute('href', '/watch/vidHALF0001');

    await userEvent.click(screen.getByRole('button', { name: 'Clear history' }));
    const dialog = screen.getByRole('dialog', { name: 'Clear your watch history?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Clear history' }));
    expect(await screen.findByText('Videos you watch appear here.')).toBeInTheDocument();
    expect(deletes).toEqual(['/api/v1/me/history']);
  });

  it('computes the watched share within bounds', () => {
    expect(watchedPercent(30, 60)).toBe(50);
    expect(watchedPercent(90, 60)).toBe(100);
    expect(watchedPercent(10)).toBe(0);
  });
});
