import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { type Video } from '../api/client';
import { json, renderPage, stubFetch, signedInDuringEachTest } from '../test/harness';
import { saveUpload, savedUploads } from '../upload/resume';
import MyVideos from './MyVideos';

const now = new Date().toISOString();
const me = { id: 'u1', username: 'ann', displayName: 'Ann', role: 'user', createdAt: now };
const video = (id: string, title: string, extra: Partial<Video> = {}): Video => ({
  id,
  title,
  description: 'about it',
  tags: [],
  visibility: 'public',
  status: 'ready',
  owner: { username: 'ann', displayName: 'Ann' },
  stats: { views: 3, likes: 1, dislikes: 0, comments: 0 },
  createdAt: now,
  updatedAt: now,
  ...extra,
});

interface Call {
  method: string;
  path: string;
  body?: unknown;
}

/** renderMine serves the caller's videos from a list the PATCH and DELETE answers change. */
function renderMine(videos: Video[]) {
  const calls: Call[] = [];
  stubFetch(async (req, path) => {
    const body = req.method === 'PATCH' ? await req.json() : undefined;
    calls.push({ method: req.method, path, body });
    if (path.endsWith('/auth/me')) return json(me);
    if (path === '/api/v1/me/videos') return json({ videos });
    const id = path.split('/').pop();
    const i = videos.findIndex((v) => v.id === id);
    if (req.method === 'PATCH' && i >= 0) {
      videos[i] = { ...videos[i], ...(body as Partial<Video>) };
      return json(videos[i]);
    }
    if (req.method === 'DELETE' && i >= 0) {
      videos.splice(i, 1);
      return new Response(null, { status: 204 });
    }
    return json({ error: { code: 'not_found', message: 'no such video' } }, 404);
  });
  renderPage(<MyVideos />, '/my/videos');
  return calls;
}

signedInDuringEachTest();

describe('My videos', () => {
  it('lists every status, with the reason a transcode failed', async () => {
    renderMine([video('vidREADY001', 'Ready one'), video('vidFAILED01', 'Broken one', { status: 'failed', failureReason: 'the source has no video stream' })]);
    const list = await screen.findByRole('list', { name: 'My videos' });
    expect(await within(list).findAllByRole('listitem')).toHaveLength(2);
    expect(within(list).getByText('ready')).toBeInTheDocument();
    expect(within(list).getByText('Transcoding failed: the source has no video stream')).toBeInTheDocument();
  });

  it('edits the title and visibility', async () => {
    const calls = renderMine([video('vidEDIT0001', 'Old title')]);
    await userEvent.click(await screen.findByRole('button', { name: 'Edit Old title' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit video' });
    const title = within(dialog).getByLabelText(/Title/);
    await userEvent.clear(title);
    await userEvent.type(title, 'New title');
    await userEvent.click(within(dialog).getByRole('combobox', { name: 'Visibility' }));
    await userEvent.click(screen.getByRole('option', { name: 'Private' }));
    await userEvent.click(within(dialog).getByRole('button', { name: 'Save' }));

    await vi.waitFor(() => expect(screen.queryByRole('dialog')).not.toBeInTheDocument());
    expect(calls.filter((c) => c.method === 'PATCH')).toEqual([
      { method: 'PATCH', path: '/api/v1/videos/vidEDIT0001', body: { title: 'New title', description: 'about it', visibility: 'private' } },
    ]);
    // The list is read again and shows the change.
    expect(await screen.findByRole('link', { name: 'New title' })).toBeInTheDocument();
    expect(screen.getByText('private')).toBeInTheDocument();
  });

  it('will not save an empty title', async () => {
    renderMine([video('vidEDIT0002', 'Keep me')]);
    await userEvent.click(await screen.findByRole('button', { name: 'Edit Keep me' }));
    const dialog = screen.getByRole('dialog', { name: 'Edit video' });
    await userEvent.clear(within(dialog).getByLabelText(/Title/));
    expect(within(dialog).getByRole('button', { name: 'Save' })).toBeDisabled();
  });

  it('deletes a video after asking, and says so when none are left', async () => {
    const calls = renderMine([video('vidDELETE01', 'Doomed')]);
    await userEvent.click(await screen.findByRole('button', { name: 'Delete Doomed' }));
    const dialog = screen.getByRole('dialog', { name: 'Delete “Doomed”?' });
    // Cancel has the focus: Enter must not delete.
    expect(within(dialog).getByRole('button', { name: 'Cancel' })).toHaveFocus();
    await userEvent.click(within(dialog).getByRole('button', { name: 'Delete' }));
    expect(await screen.findByText('You have not uploaded anything yet.')).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/v1/videos/vidDELETE01']);
  });

  it("shows how far an unfinished upload got, and discards it with the browser's record of it", async () => {
    saveUpload(
      { name: 'big.mp4', size: 20 << 20, lastModified: 1 },
      { videoId: 'vidUPLOAD01', username: 'ann', title: 'Half up', size: 20 << 20, partSize: 5 << 20, parts: [1, 2] },
    );
    const calls = renderMine([video('vidUPLOAD01', 'Half up', { status: 'uploading' })]);
    expect(await screen.findByText(/Upload unfinished: 10\.0 MiB of 20\.0 MiB stored/)).toBeInTheDocument();
    expect(screen.getByRole('link', { name: 'Resume the upload of Half up' })).toHaveAttribute('href', '/upload');
    // Nothing to caption before there is a video.
    expect(screen.queryByRole('button', { name: 'Captions of Half up' })).not.toBeInTheDocument();
    await userEvent.click(screen.getByRole('button', { name: 'Discard the upload of Half up' }));
    const dialog = screen.getByRole('dialog', { name: 'Discard the upload of “Half up”?' });
    await userEvent.click(within(dialog).getByRole('button', { name: 'Discard' }));
    expect(await screen.findByText('You have not uploaded anything yet.')).toBeInTheDocument();
    expect(calls.filter((c) => c.method === 'DELETE').map((c) => c.path)).toEqual(['/api/v1/videos/vidUPLOAD01']);
    expect(savedUploads().size).toBe(0);
  });

  it('says so when this browser has no record of an unfinished upload', async () => {
    renderMine([video('vidUPLOAD02', 'Elsewhere', { status: 'uploading' })]);
    expect(await screen.findByText(/Upload unfinished\. Choose the same file on the upload page of the browser that started it/)).toBeInTheDocument();
  });
});
