import { act, fireEvent, screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import type { Video } from '../api/client';
import { json, renderPage, signedInDuringEachTest, stubFetch } from '../test/harness';
import { CaptionsDialog, vttProblem } from './CaptionsDialog';

const now = new Date().toISOString();
const video: Video = {
  id: 'vidCAPTION1',
  title: 'Talk',
  description: '',
  tags: [],
  visibility: 'public',
  status: 'ready',
  owner: { username: 'ann', displayName: 'Ann' },
  stats: { views: 0, likes: 0, dislikes: 0, comments: 0 },
  createdAt: now,
  updatedAt: now,
};
const english = { language: 'en', label: 'English', source: 'upload', url: '/media/vidCAPTION1/subs/en/captions.vtt' };
const vtt = 'WEBVTT\n\n00:00.000 --> 00:02.000\nHello\n';

interface Sent {
  method: string;
  path: string;
  type?: string | null;
  body?: string;
}

/** serve answers like the captions API; transcribe decides the answer of POST …/captions/auto. */
function serve(opts: { auto?: boolean; put?: (lang: string) => Response; transcribe?: () => Promise<Response> } = {}) {
  let tracks: (typeof english)[] = [english];
  const sent: Sent[] = [];
  stubFetch(async (req, path) => {
    const base = `/api/v1/videos/${video.id}/captions`;
    if (path === '/api/v1/auth/me') return json({ id: 'u1', username: 'ann', displayName: 'Ann', role: 'user', createdAt: now });
    if (path === base) return json({ captions: tracks, autoCaptions: !!opts.auto });
    if (path === `${base}/auto`) {
      sent.push({ method: req.method, path, body: await req.text() });
      const r = await opts.transcribe!();
      if (r.ok) tracks = [...tracks, { language: 'fr', label: 'Français (automatic)', source: 'transcription', url: '' }];
      return r;
    }
    const lang = path.slice(base.length + 1);
    sent.push({ method: req.method, path, type: req.headers.get('Content-Type'), body: await req.text() });
    if (req.method === 'PUT') {
      const answer = opts.put?.(lang);
      if (answer) return answer;
      const t = { ...english, language: lang, label: lang === 'de' ? 'Deutsch' : lang };
      tracks = [...tracks, t];
      return json(t);
    }
    if (req.method === 'DELETE') {
      tracks = tracks.filter((t) => t.language !== lang);
      return new Response(null, { status: 204 });
    }
    return json({}, 404);
  });
  renderPage(<CaptionsDialog video={video} onClose={() => {}} />);
  return sent;
}

const chooseFile = (text: string, name = 'de.vtt') =>
  act(() => {
    fireEvent.change(screen.getByTestId('caption-file'), { target: { files: [new File([text], name, { type: 'text/vtt' })] } });
  });

signedInDuringEachTest();

describe('CaptionsDialog', () => {
  it('lists the tracks, uploads a WebVTT file as text/vtt and deletes a track', async () => {
    const sent = serve();
    const tracks = await screen.findByRole('list', { name: 'Caption tracks' });
    expect(await within(tracks).findByText('English')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText(/Language/), 'de');
    chooseFile(vtt);
    await userEvent.click(screen.getByRole('button', { name: 'Upload captions' }));
    expect(await screen.findByText('Deutsch captions uploaded.')).toBeInTheDocument();
    expect(await within(tracks).findByText('Deutsch')).toBeInTheDocument();
    expect(sent[0]).toEqual({ method: 'PUT', path: `/api/v1/videos/${video.id}/captions/de`, type: 'text/vtt', body: vtt });

    await userEvent.click(screen.getByRole('button', { name: 'Delete the English captions' }));
    await vi.waitFor(() => expect(within(tracks).queryByText('English')).not.toBeInTheDocument());
    expect(sent.at(-1)).toMatchObject({ method: 'DELETE', path: `/api/v1/videos/${video.id}/captions/en` });
  });

  it('refuses a file that is not WebVTT before sending it', async () => {
    const sent = serve();
    await screen.findByRole('list', { name: 'Caption tracks' });
    await userEvent.type(screen.getByLabelText(/Language/), 'de');
    chooseFile('1\n00:00:00,000 --> 00:00:02,000\nHello\n', 'de.srt');
    await userEvent.click(screen.getByRole('button', { name: 'Upload captions' }));
    expect(await screen.findByText('This is not a WebVTT file: its first line must be WEBVTT.')).toBeInTheDocument();
    expect(sent).toEqual([]);
  });

  it("shows the server's validation errors inline: the file's in an alert, the language's on its field", async () => {
    serve({
      put: (lang) =>
        lang === 'xx-!!'
          ? json(
              {
                error: {
                  code: 'invalid_request',
                  message: 'some fields are invalid',
                  fields: { language: 'must be a BCP 47 language tag such as en or pt-BR' },
                },
              },
              400,
            )
          : json(
              {
                error: { code: 'invalid_request', message: 'the caption file is not valid WebVTT: line 3: bad timing', fields: { body: 'line 3: bad timing' } },
              },
              400,
            ),
    });
    await screen.findByRole('list', { name: 'Caption tracks' });
    await userEvent.type(screen.getByLabelText(/Language/), 'de');
    chooseFile('WEBVTT\n\n00:00 --> soon\nHello\n');
    await userEvent.click(screen.getByRole('button', { name: 'Upload captions' }));
    expect(await screen.findByText(/the caption file is not valid WebVTT: line 3: bad timing/)).toBeInTheDocument();

    await userEvent.clear(screen.getByLabelText(/Language/));
    await userEvent.type(screen.getByLabelText(/Language/), 'xx-!!');
    await userEvent.click(screen.getByRole('button', { name: 'Upload captions' }));
    expect(await screen.findByText('must be a BCP 47 language tag such as en or pt-BR')).toBeInTheDocument();
    expect(screen.getByLabelText(/Language/)).toHaveAttribute('aria-invalid', 'true');
  });

  it('generates automatic captions, showing progress while the server transcribes', async () => {
    let answer: (r: Response) => void = () => {};
    const sent = serve({ auto: true, transcribe: () => new Promise((r) => (answer = r)) });
    await userEvent.type(await screen.findByLabelText('Spoken language (optional)'), 'fr');
    await userEvent.click(screen.getByRole('button', { name: 'Generate captions' }));
    expect(await screen.findByRole('progressbar', { name: 'Transcription progress' })).toBeInTheDocument();
    expect(screen.getByRole('button', { name: 'Generate captions' })).toBeDisabled();
    act(() => answer(json({ language: 'fr', label: 'Français (automatic)', source: 'transcription', url: '' })));
    expect(await screen.findByText('Français (automatic) captions added.')).toBeInTheDocument();
    expect(await within(screen.getByRole('list', { name: 'Caption tracks' })).findByText('Français (automatic)')).toBeInTheDocument();
    expect(JSON.parse(sent[0].body!)).toEqual({ language: 'fr' });
  });

  it('shows why automatic captions failed', async () => {
    serve({ auto: true, transcribe: async () => json({ error: { code: 'unavailable', message: 'the transcription service failed; try again later' } }, 503) });
    await userEvent.click(await screen.findByRole('button', { name: 'Generate captions' }));
    expect(await screen.findByText('Automatic captions failed: the transcription service failed; try again later')).toBeInTheDocument();
  });

  it('says when the server cannot transcribe', async () => {
    serve({ auto: false });
    expect(await screen.findByText(/This server has no transcription service/)).toBeInTheDocument();
    expect(screen.queryByRole('button', { name: 'Generate captions' })).not.toBeInTheDocument();
  });

  it('recognises WebVTT by its first line', () => {
    expect(vttProblem(vtt)).toBe('');
    expect(vttProblem('\uFEFFWEBVTT - with a title\n')).toBe('');
    expect(vttProblem('WEBVTTX\n')).not.toBe('');
    expect(vttProblem('')).not.toBe('');
  });
});
