import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { json, renderPage, signedInDuringEachTest, stubFetch } from '../test/harness';
import Profile from './Profile';

// jsdom decodes no pictures and draws no canvas: the crop's maths has its own test (lib/crop.test.ts).
const crop = vi.hoisted(() => ({ drawn: 0, cropped: [] as unknown[] }));
vi.mock('../lib/crop', async (original) => ({
  ...(await original<typeof import('../lib/crop')>()),
  loadImage: async () => ({ naturalWidth: 400, naturalHeight: 300 }),
  drawCrop: () => {
    crop.drawn++;
  },
  cropToSquare: async (_img: unknown, c: unknown) => {
    crop.cropped.push(c);
    return new Blob([new Uint8Array([137, 80, 78, 71])], { type: 'image/png' });
  },
}));

const now = new Date().toISOString();

function serveProfile() {
  const state = { displayName: 'Ann', bio: 'Old bio', avatarUrl: undefined as string | undefined };
  const calls: string[] = [];
  const bodies: Record<string, unknown> = {};
  stubFetch(async (req, path) => {
    calls.push(`${req.method} ${path}`);
    const me = { id: 'u1', username: 'ann', displayName: state.displayName, avatarUrl: state.avatarUrl, role: 'user', createdAt: now };
    if (path === '/api/v1/auth/me') return json(me);
    if (path === '/api/v1/users/ann') return json({ ...me, bio: state.bio, subscriberCount: 0, videoCount: 0 });
    if (path === '/api/v1/me' && req.method === 'PATCH') {
      const b = await req.json();
      bodies.patch = b;
      Object.assign(state, b);
      return json({ ...me, displayName: state.displayName });
    }
    if (path === '/api/v1/me/avatar') {
      bodies.avatar = await req.json();
      return json({ uploadId: 'up1', url: 'http://localhost/blobs/avatar-up1', expiresAt: now });
    }
    if (path === '/blobs/avatar-up1') {
      bodies.put = { type: req.headers.get('Content-Type'), size: (await req.arrayBuffer()).byteLength };
      return new Response(null, { status: 200 });
    }
    if (path === '/api/v1/me/avatar/complete') {
      bodies.complete = await req.json();
      state.avatarUrl = '/avatars/u1/abc.png';
      return json({ ...me, avatarUrl: state.avatarUrl });
    }
    return json({ error: { code: 'not_found', message: 'no' } }, 404);
  });
  return { calls, bodies };
}

signedInDuringEachTest();

describe('Profile', () => {
  it('edits the display name and bio', async () => {
    const { bodies } = serveProfile();
    renderPage(<Profile />, '/settings/profile');
    const name = await screen.findByLabelText(/Display name/);
    expect(name).toHaveValue('Ann');
    expect(screen.getByLabelText('Bio')).toHaveValue('Old bio');
    await userEvent.clear(name);
    await userEvent.type(name, 'Ann Lee');
    await userEvent.clear(screen.getByLabelText('Bio'));
    await userEvent.type(screen.getByLabelText('Bio'), 'I film trees.');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText('Saved.')).toBeInTheDocument();
    expect(bodies.patch).toEqual({ displayName: 'Ann Lee', bio: 'I film trees.' });
  });

  it('shows the API refusal next to the form', async () => {
    stubFetch((_req, path) => {
      if (path === '/api/v1/auth/me') return json({ id: 'u1', username: 'ann', displayName: 'Ann', role: 'user', createdAt: now });
      if (path === '/api/v1/users/ann') return json({ username: 'ann', displayName: 'Ann', bio: '', subscriberCount: 0, videoCount: 0, createdAt: now });
      return json(
        { error: { code: 'invalid_request', message: "the profile breaks this site's rules", fields: { bio: 'contains a term this site does not allow' } } },
        400,
      );
    });
    renderPage(<Profile />, '/settings/profile');
    await userEvent.type(await screen.findByLabelText('Bio'), 'rude');
    await userEvent.click(screen.getByRole('button', { name: 'Save' }));
    expect(await screen.findByText(/contains a term this site does not allow/)).toBeInTheDocument();
  });

  it('crops a chosen picture to a square and uploads it through the presigned flow', async () => {
    const { calls, bodies } = serveProfile();
    renderPage(<Profile />, '/settings/profile');
    await screen.findByRole('button', { name: 'Choose a picture' });
    await userEvent.upload(screen.getByTestId('avatar-input'), new File(['x'], 'me.png', { type: 'image/png' }));
    expect(await screen.findByRole('img', { name: 'Preview of your new picture' })).toBeInTheDocument();
    expect(crop.drawn).toBeGreaterThan(0);
    // Zoom in with the keyboard: the crop that is uploaded is the one previewed.
    const zoom = screen.getByRole('slider', { name: 'Zoom' });
    zoom.focus();
    await userEvent.keyboard('{ArrowRight}{ArrowRight}');
    await userEvent.click(screen.getByRole('button', { name: 'Save picture' }));
    expect(await screen.findByText('Your new picture is on your channel.')).toBeInTheDocument();
    expect(crop.cropped).toEqual([{ zoom: 1.1, x: 0.5, y: 0.5 }]);
    expect(bodies.avatar).toEqual({ contentType: 'image/png', size: 4 });
    expect(bodies.put).toEqual({ type: 'image/png', size: 4 });
    expect(bodies.complete).toEqual({ uploadId: 'up1' });
    expect(calls.indexOf('PUT /blobs/avatar-up1')).toBeLessThan(calls.indexOf('POST /api/v1/me/avatar/complete'));
    expect(await screen.findByAltText('Your current picture')).toHaveAttribute('src', '/avatars/u1/abc.png');
  });

  it('refuses a file that is not a picture', async () => {
    serveProfile();
    renderPage(<Profile />, '/settings/profile');
    await screen.findByRole('button', { name: 'Choose a picture' });
    await userEvent.upload(screen.getByTestId('avatar-input'), new File(['x'], 'notes.txt', { type: 'text/plain' }), { applyAccept: false });
    expect(await screen.findByText('notes.txt is not a JPEG, PNG or WebP picture.')).toBeInTheDocument();
  });
});
