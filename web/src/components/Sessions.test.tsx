import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { json, renderPage, signedInDuringEachTest, stubFetch } from '../test/harness';
import { SessionsDialog } from './Sessions';

signedInDuringEachTest();

const here = {
  id: '1',
  createdAt: '2026-12-01T10:00:00Z',
  lastUsedAt: '2026-12-07T10:00:00Z',
  device: 'Firefox on Linux',
  network: '203.0.113.0/24',
  current: true,
};
const phone = {
  id: '2',
  createdAt: '2026-11-20T10:00:00Z',
  lastUsedAt: '2026-12-06T09:00:00Z',
  device: 'Safari on iOS',
  network: '198.51.100.0/24',
  current: false,
};

describe('SessionsDialog', () => {
  it('labels this device and signs another one out', async () => {
    let live = [here, phone];
    const ended: string[] = [];
    stubFetch((req, path) => {
      if (path === '/api/v1/me/sessions' && req.method === 'GET') return json({ items: live });
      const m = path.match(/^\/api\/v1\/me\/sessions\/(\d+)$/);
      if (m && req.method === 'DELETE') {
        ended.push(m[1]);
        live = live.filter((s) => s.id !== m[1]);
        return new Response(null, { status: 204 });
      }
      return json({}, 404);
    });
    renderPage(<SessionsDialog open onClose={() => {}} />);
    const list = await screen.findByRole('list', { name: 'Signed-in devices' });
    const items = within(list).getAllByRole('listitem');
    expect(items).toHaveLength(2);
    expect(within(items[0]).getByText('Firefox on Linux')).toBeInTheDocument();
    expect(within(items[0]).getByText('This device')).toBeInTheDocument();
    expect(within(items[0]).queryByRole('button', { name: /Sign out/ })).toBeNull();
    expect(within(items[1]).getByText(/from 198\.51\.100\.0\/24/)).toBeInTheDocument();

    await userEvent.click(within(items[1]).getByRole('button', { name: /Sign out Safari on iOS/ }));
    await vi.waitFor(() => expect(screen.queryByText('Safari on iOS')).toBeNull());
    expect(ended).toEqual(['2']);
    expect(screen.getByText('Firefox on Linux')).toBeInTheDocument();
  });

  it('shows why a device could not be signed out', async () => {
    stubFetch((req, path) => {
      if (path === '/api/v1/me/sessions' && req.method === 'GET') return json({ items: [here, phone] });
      return json({ error: { code: 'not_found', message: 'no such session: it has ended already, or it is not yours' } }, 404);
    });
    renderPage(<SessionsDialog open onClose={() => {}} />);
    await userEvent.click(await screen.findByRole('button', { name: /Sign out Safari on iOS/ }));
    expect(await screen.findByRole('alert')).toHaveTextContent('it has ended already');
  });
});
