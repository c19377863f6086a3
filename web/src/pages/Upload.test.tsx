import { act, fireEvent, screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { json, renderPage, stubFetch, signedInDuringEachTest } from '../test/harness';
import { saveUpload, savedUpload } from '../upload/resume';
import UploadPage from './Upload';

const now = new Date().toISOString();
const me = { id: 'u1', username: 'ann', displayName: 'Ann', role: 'user', createdAt: now };
const size = 1000;
const upload = { videoId: 'vidUPLOAD01', method: 'put', size, url: 'http://storage.test/put/vidUPLOAD01', expiresAt: now };

/** FakeXHR holds each PUT open until the test answers it. */
class FakeXHR {
  static sent: FakeXHR[] = [];
  method = '';
  url = '';
  status = 0;
  responseText = '';
  aborted = false;
  upload: { onprogress: ((e: { loaded: number }) => void) | null } = { onprogress: null };
  onload: (() => void) | null = null;
  onerror: (() => void) | null = null;
  onabort: (() => void) | null = null;
  open(method: string, url: string) {
    this.method = method;
    this.url = url;
  }
  send() {
    FakeXHR.sent.push(this);
  }
  abort() {
    this.aborted = true;
    this.onabort?.();
  }
  progress(loaded: number) {
    this.upload.onprogress?.({ loaded });
  }
  finish(status = 200) {
    this.status = status;
    this.onload?.();
  }
}

/** FakeWebSocket lets a test play the server's progress events. */
class FakeWebSocket {
  static last: FakeWebSocket | undefined;
  onopen: (() => void) | null = null;
  onmessage: ((m: { data: string }) => void) | null = null;
  onclose = null;
  constructor(readonly url: string) {
    FakeWebSocket.last = this;
  }
  send() {}
  close() {}
  emit(event: object) {
    act(() => this.onmessage?.({ data: JSON.stringify(event) }));
  }
}

function setup() {
  const calls: string[] = [];
  FakeXHR.sent = [];
  // An earlier test's socket has this test's URL too: emitting on it would reach no page.
  FakeWebSocket.last = undefined;
  vi.stubGlobal('XMLHttpRequest', FakeXHR);
  vi.stubGlobal('WebSocket', FakeWebSocket);
  stubFetch((req, path) => {
    calls.push(`${req.method} ${path}`);
    if (path.endsWith('/auth/me')) return json(me);
    if (req.method === 'POST' && path === '/api/v1/uploads') return json({ videoId: upload.videoId, upload }, 201);
    if (req.method === 'GET' && path === `/api/v1/uploads/${upload.videoId}`) return json(upload);
    if (req.method === 'POST' && path === `/api/v1/uploads/${upload.videoId}/complete`)
      return json({
        id: upload.videoId,
        title: 'my clip',
        description: '',
        tags: [],
        visibility: 'public',
        status: 'queued',
        owner: { username: 'ann', displayName: 'Ann' },
        stats: { views: 0, likes: 0, dislikes: 0, comments: 0 },
        createdAt: now,
        updatedAt: now,
      });
    return json({ error: { code: 'not_found', message: 'no such thing' } }, 404);
  });
  renderPage(<UploadPage />, '/upload');
  return calls;
}

/** startUpload chooses a file and presses Upload, and waits for its PUT. */
async function startUpload() {
  const file = new File([new Uint8Array(size)], 'clip.mp4', { type: 'video/mp4' });
  fireEvent.change(screen.getByTestId('file-input'), { target: { files: [file] } });
  await userEvent.click(screen.getByRole('button', { name: 'Upload' }));
  await vi.waitFor(() => expect(FakeXHR.sent).toHaveLength(1));
}

signedInDuringEachTest();

describe('Upload page', () => {
  it('pauses and resumes an upload, then starts the transcode', async () => {
    const calls = setup();
    const file = new File([new Uint8Array(size)], 'my_clip.mp4', { type: 'video/mp4' });
    fireEvent.change(screen.getByTestId('file-input'), { target: { files: [file] } });
    expect(screen.getByLabelText(/Title/)).toHaveValue('my clip');
    await userEvent.click(screen.getByRole('button', { name: 'Upload' }));

    await vi.waitFor(() => expect(FakeXHR.sent).toHaveLength(1));
    const first = FakeXHR.sent[0];
    expect(first.method).toBe('PUT');
    expect(first.url).toBe(upload.url);
    act(() => first.progress(400));
    expect(await screen.findByText(/Uploading: 40% of/)).toBeInTheDocument();

    await userEvent.click(screen.getByRole('button', { name: 'Pause' }));
    expect(first.aborted).toBe(true);
    expect(await screen.findByText(/Paused: 0% of/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Pause' })).not.toBeInTheDocument();
    const resume = screen.getByRole('button', { name: 'Resume' });
    await vi.waitFor(() => expect(resume).toBeEnabled());

    await userEvent.click(resume);
    // A resume asks the server what it has before sending again.
    await vi.waitFor(() => expect(FakeXHR.sent).toHaveLength(2));
    expect(calls).toContain(`GET /api/v1/uploads/${upload.videoId}`);
    expect(await screen.findByRole('button', { name: 'Pause' })).toBeInTheDocument();
    expect(calls).not.toContain(`POST /api/v1/uploads/${upload.videoId}/complete`);

    act(() => FakeXHR.sent[1].finish(200));
    expect(await screen.findByText(/Uploaded: 100% of/)).toBeInTheDocument();
    await vi.waitFor(() => expect(calls).toContain(`POST /api/v1/uploads/${upload.videoId}/complete`));
    expect(await screen.findByText('Queued for transcoding…')).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: /Pause|Resume/ })).not.toBeInTheDocument();
  });

  it('offers "Watch now" as soon as the video is playable, before the transcode ends', async () => {
    setup();
    await startUpload();
    act(() => FakeXHR.sent[0].finish(200));
    await screen.findByText('Queued for transcoding…');
    await vi.waitFor(() => expect(FakeWebSocket.last?.url).toMatch(/\/api\/v1\/videos\/vidUPLOAD01\/events$/));
    const ws = FakeWebSocket.last!;
    const watch = () => screen.getByRole('link', { name: 'Watch now' });

    const progress = { videoId: upload.videoId, status: 'processing', chunksDone: 1, chunksTotal: 3 };
    ws.emit({ ...progress, progress: { overall: 30, rungs: { '240p': 40, '360p': 20 } }, playable: false });
    expect(await screen.findByRole('progressbar', { name: 'Transcoding progress, overall' })).toHaveAttribute('aria-valuenow', '30');
    expect(watch()).toHaveAttribute('aria-disabled', 'true');

    ws.emit({ ...progress, chunksDone: 2, progress: { overall: 60, rungs: { '240p': 70, '360p': 50 } }, playable: true });
    await vi.waitFor(() => expect(watch()).not.toHaveAttribute('aria-disabled'));
    expect(watch()).toHaveAttribute('href', '/watch/vidUPLOAD01');
    expect(screen.queryByText('Transcoding is done (100%).')).not.toBeInTheDocument();

    ws.emit({ videoId: upload.videoId, status: 'failed', error: 'chunk 2: no frame could be decoded', playable: true });
    expect(await screen.findByRole('alert')).toHaveTextContent('Transcoding failed: chunk 2: no frame could be decoded.');
    expect(watch()).toHaveAttribute('aria-disabled', 'true');
  });

  it('offers a resume after the connection fails', async () => {
    setup();
    await startUpload();
    act(() => FakeXHR.sent[0].onerror?.());
    expect(await screen.findByText(/Upload interrupted/)).toBeInTheDocument();
    expect(screen.getByText('the connection failed during the upload')).toBeInTheDocument();
    await userEvent.click(await screen.findByRole('button', { name: 'Resume' }));
    await vi.waitFor(() => expect(FakeXHR.sent).toHaveLength(2));
  });
});

describe('Upload page: resuming after a reload', () => {
  const partSize = 1000;
  const multipart = { videoId: 'vidMULTI001', method: 'multipart', size: 3 * partSize, partSize, partCount: 3, expiresAt: now };
  const bigFile = () => new File([new Uint8Array(3 * partSize)], 'big.mp4', { type: 'video/mp4', lastModified: 1_700_000_000_000 });
  afterEach(() => localStorage.clear());

  /** serve answers like the API with a multipart upload whose server-side parts are stored; gone makes GET /uploads/{id} a 404. */
  function serve(stored: number[], gone = false) {
    const calls: string[] = [];
    FakeXHR.sent = [];
    vi.stubGlobal('XMLHttpRequest', FakeXHR);
    vi.stubGlobal('WebSocket', FakeWebSocket);
    stubFetch(async (req, path) => {
      calls.push(`${req.method} ${path}`);
      if (path.endsWith('/auth/me')) return json(me);
      if (req.method === 'POST' && path === '/api/v1/uploads') return json({ videoId: multipart.videoId, upload: multipart }, 201);
      if (req.method === 'GET' && path === `/api/v1/uploads/${multipart.videoId}`)
        return gone
          ? json({ error: { code: 'not_found', message: 'no such upload' } }, 404)
          : json({ ...multipart, uploadedParts: stored.map((number) => ({ number, size: partSize })) });
      if (req.method === 'POST' && path === `/api/v1/uploads/${multipart.videoId}/parts`) {
        const { parts } = await req.json();
        return json({ parts: parts.map((n: number) => ({ number: n, url: `http://storage.test/part/${n}` })), expiresAt: now });
      }
      if (req.method === 'POST' && path === `/api/v1/uploads/${multipart.videoId}/complete`)
        return json({
          id: multipart.videoId,
          title: 'Big',
          description: '',
          tags: [],
          visibility: 'public',
          status: 'queued',
          owner: { username: 'ann', displayName: 'Ann' },
          stats: { views: 0, likes: 0, dislikes: 0, comments: 0 },
          createdAt: now,
          updatedAt: now,
        });
      return json({ error: { code: 'not_found', message: 'no such thing' } }, 404);
    });
    renderPage(<UploadPage />, '/upload');
    return calls;
  }

  const chooseBig = async () => {
    await screen.findByRole('button', { name: 'Upload' });
    // The page knows who is signed in before it looks for a saved upload of theirs.
    await vi.waitFor(() => expect(screen.getByTestId('dropzone')).toBeInTheDocument());
    fireEvent.change(screen.getByTestId('file-input'), { target: { files: [bigFile()] } });
  };

  it('keeps a new multipart upload and its stored parts', async () => {
    serve([]);
    await chooseBig();
    await userEvent.click(screen.getByRole('button', { name: 'Upload' }));
    await vi.waitFor(() => expect(FakeXHR.sent.length).toBeGreaterThan(0));
    const saved = () => savedUpload(bigFile(), 'ann');
    expect(saved()).toMatchObject({ videoId: multipart.videoId, partSize, parts: [] });
    const part1 = FakeXHR.sent.find((x) => x.url.endsWith('/part/1'))!;
    act(() => part1.finish(200));
    await vi.waitFor(() => expect(saved()?.parts).toEqual([1]));
  });

  it('resumes the same file after a reload without sending the stored parts again, then forgets it', async () => {
    saveUpload(bigFile(), { videoId: multipart.videoId, username: 'ann', title: 'Big', size: 3 * partSize, partSize, parts: [1] });
    const calls = serve([1, 2]);
    await chooseBig();
    expect(await screen.findByText(/You started uploading this file .*: 1 of 3 parts are stored/)).toBeInTheDocument();
    expect(screen.getByLabelText(/Title/)).toHaveValue('Big');
    await userEvent.click(screen.getByRole('button', { name: 'Resume upload' }));
    await vi.waitFor(() => expect(FakeXHR.sent).toHaveLength(1));
    expect(FakeXHR.sent[0].url).toBe('http://storage.test/part/3');
    expect(calls).not.toContain('POST /api/v1/uploads');
    expect(await screen.findByText(/Uploading: 67% of/)).toBeInTheDocument();
    act(() => FakeXHR.sent[0].finish(200));
    await vi.waitFor(() => expect(calls).toContain(`POST /api/v1/uploads/${multipart.videoId}/complete`));
    await vi.waitFor(() => expect(savedUpload(bigFile(), 'ann')).toBeNull());
  });

  it('starts over when the server no longer has the upload', async () => {
    saveUpload(bigFile(), { videoId: multipart.videoId, username: 'ann', title: 'Big', size: 3 * partSize, partSize, parts: [1, 2] });
    const calls = serve([], true);
    await chooseBig();
    await userEvent.click(await screen.findByRole('button', { name: 'Resume upload' }));
    expect(await screen.findByText('The earlier upload of this file is no longer on the server, so it starts over.')).toBeInTheDocument();
    expect(calls).toContain('POST /api/v1/uploads');
    await vi.waitFor(() => expect(FakeXHR.sent.length).toBeGreaterThan(0));
  });
});
