import { useEffect, useRef, useState, type DragEvent, type FormEvent } from 'react';
import { Alert, Box, Button, FormControl, InputLabel, LinearProgress, MenuItem, Paper, Select, Stack, TextField, Typography } from '@mui/material';
import CloudUpload from '@mui/icons-material/CloudUpload';
import { Link as RouterLink } from 'react-router-dom';
import { api, errorMessage, HttpError, unwrap, type Upload, type Video, type Visibility } from '../api/client';
import { Redirect, useAuth } from '../auth';
import { formatBytes, timeAgo } from '../format';
import { forgetUpload, saveUpload, savedUpload, type SavedUpload } from '../upload/resume';
import { RungProgress } from '../upload/RungProgress';
import { apiServer, partCountOf, Uploader } from '../upload/uploader';
import { useVideoEvents } from '../upload/useVideoEvents';

/**
 * serverUpload is the server's state of a saved upload of file, or null when it cannot go on
 * (deleted, completed, expired, someone else's, or not the same file any more).
 */
async function serverUpload(saved: SavedUpload, file: File): Promise<Upload | null> {
  try {
    const up = await apiServer.status(saved.videoId);
    return up.method === 'multipart' && up.size === file.size && up.partSize === saved.partSize ? up : null;
  } catch (err) {
    if (err instanceof HttpError && err.status >= 400 && err.status < 500) return null;
    throw err;
  }
}

function titleFromName(name: string): string {
  return (
    name
      .replace(/\.[^.]+$/, '')
      .replace(/[_-]+/g, ' ')
      .trim()
      .slice(0, 100) || 'Untitled'
  );
}

export default function UploadPage() {
  const { token, user } = useAuth();
  const [file, setFile] = useState<File | null>(null);
  const [resumable, setResumable] = useState<SavedUpload | null>(null);
  const [notice, setNotice] = useState('');
  const [title, setTitle] = useState('');
  const [description, setDescription] = useState('');
  const [visibility, setVisibility] = useState<Visibility>('public');
  const [dragging, setDragging] = useState(false);
  const [error, setError] = useState('');
  const [uploader, setUploader] = useState<Uploader | null>(null);
  const [, rerender] = useState(0);
  const [video, setVideo] = useState<Video | null>(null);
  const [busy, setBusy] = useState(false);
  const input = useRef<HTMLInputElement>(null);
  const events = useVideoEvents(video?.id, token);

  useEffect(() => {
    // Leaving the page mid-upload would lose it: ask first.
    const warn = (e: BeforeUnloadEvent) => {
      if (uploader && uploader.state !== 'done') e.preventDefault();
    };
    window.addEventListener('beforeunload', warn);
    return () => window.removeEventListener('beforeunload', warn);
  }, [uploader]);

  useEffect(() => {
    // Who is signed in may be known only after the file is chosen.
    if (!file || !user || uploader) return;
    const saved = savedUpload(file, user.username);
    setResumable(saved);
    if (saved) setTitle(saved.title);
  }, [file, user, uploader]);

  if (!token) return <Redirect to="/login?returnTo=/upload" />;

  const choose = (f: File | undefined) => {
    if (!f) return;
    if (!f.type.startsWith('video/') && !/\.(mp4|mov|mkv|webm|avi|m4v|ts)$/i.test(f.name)) {
      setError(`${f.name} does not look like a video file.`);
      return;
    }
    setError('');
    setNotice('');
    setFile(f);
    if (!title) setTitle(titleFromName(f.name));
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    setDragging(false);
    choose(e.dataTransfer.files[0]);
  };

  const finish = async (u: Uploader) => {
    try {
      const v = unwrap(await api.POST('/uploads/{videoId}/complete', { params: { path: { videoId: u.upload.videoId } } }));
      if (file) forgetUpload(file);
      setVideo(v);
    } catch (err) {
      setError(`The file is uploaded, but starting the transcode failed: ${errorMessage(err)}. Try again.`);
    }
  };

  const run = async (u: Uploader) => {
    setBusy(true);
    await u.start();
    setBusy(false);
    if (u.state === 'done') await finish(u);
  };

  // A multipart upload is kept for a resume after a reload, its stored parts updated as they land.
  const track = (f: File, upload: Upload) => {
    let kept = -1;
    return (u: Uploader) => {
      rerender((n) => n + 1);
      if (upload.method !== 'multipart' || !user || u.state === 'done' || u.storedParts.length === kept) return;
      kept = u.storedParts.length;
      saveUpload(f, {
        videoId: upload.videoId,
        username: user.username,
        title: title.trim(),
        size: f.size,
        partSize: upload.partSize ?? f.size,
        parts: u.storedParts,
      });
    };
  };

  const start = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    setError('');
    setBusy(true);
    try {
      let upload = resumable && (await serverUpload(resumable, file));
      if (resumable && !upload) {
        forgetUpload(file);
        setNotice('The earlier upload of this file is no longer on the server, so it starts over.');
      }
      if (!upload) {
        const created = unwrap(
          await api.POST('/uploads', {
            body: { title: title.trim(), description: description || undefined, visibility, filename: file.name, size: file.size },
          }),
        );
        upload = created.upload;
      }
      const u = new Uploader({ file, upload, onChange: track(file, upload) });
      setUploader(u);
      await run(u);
    } catch (err) {
      setError(errorMessage(err));
      setBusy(false);
    }
  };

  const ev = events.last;
  const status = ev?.status ?? video?.status;
  const playable = ev?.playable || !!video?.playback || status === 'ready';
  const failed = status === 'failed';

  if (uploader && file) {
    const pct = uploader.percent;
    return (
      <Paper variant="outlined" sx={{ maxWidth: 720, mx: 'auto', p: { xs: 2, sm: 4 } }}>
        <Typography variant="h5" component="h1" sx={{ mb: 2, overflowWrap: 'anywhere' }}>
          {title}
        </Typography>
        <Typography variant="body2" sx={{ mb: 0.5 }} aria-live="polite">
          {uploader.state === 'done' ? 'Uploaded' : uploader.state === 'paused' ? 'Paused' : uploader.state === 'error' ? 'Upload interrupted' : 'Uploading'}:{' '}
          {pct.toFixed(0)}% of {formatBytes(file.size)}
        </Typography>
        <LinearProgress
          variant="determinate"
          value={pct}
          aria-label="Upload progress"
          aria-valuetext={`${pct.toFixed(0)}%`}
          sx={{ height: 10, borderRadius: 1, mb: 2 }}
          data-testid="upload-progress"
        />
        {uploader.state === 'error' && (
          <Alert severity="error" sx={{ mb: 2 }}>
            {uploader.error}
          </Alert>
        )}
        <Stack direction="row" spacing={1} sx={{ mb: 3 }}>
          {uploader.state === 'uploading' && (
            <Button variant="outlined" onClick={() => uploader.pause()}>
              Pause
            </Button>
          )}
          {(uploader.state === 'paused' || uploader.state === 'error') && (
            <Button variant="contained" onClick={() => run(uploader)} disabled={busy}>
              Resume
            </Button>
          )}
        </Stack>
        {error && (
          <Alert severity="error" sx={{ mb: 2 }}>
            {error}
          </Alert>
        )}
        {notice && (
          <Alert severity="info" sx={{ mb: 2 }}>
            {notice}
          </Alert>
        )}
        {video && (
          <Box aria-live="polite">
            {ev && !failed && <RungProgress event={ev} />}
            {!ev && !failed && <Typography variant="body2">Queued for transcoding…</Typography>}
            {failed && (
              <Alert severity="error" role="alert">
                Transcoding failed: {ev?.error || video.failureReason || 'no reason was given'}.
              </Alert>
            )}
            {status === 'ready' && (
              <Alert severity="success" sx={{ mt: 2 }}>
                Transcoding is done (100%).
              </Alert>
            )}
            <Stack direction="row" spacing={1} sx={{ mt: 2 }}>
              <Button component={RouterLink} to={`/watch/${video.id}`} variant="contained" disabled={!playable || failed}>
                Watch now
              </Button>
              <Button component={RouterLink} to="/my/videos">
                My videos
              </Button>
            </Stack>
          </Box>
        )}
      </Paper>
    );
  }

  return (
    <Paper variant="outlined" component="form" onSubmit={start} sx={{ maxWidth: 720, mx: 'auto', p: { xs: 2, sm: 4 } }}>
      <Typography variant="h5" component="h1" sx={{ mb: 2 }}>
        Upload a video
      </Typography>
      <Box
        onDragOver={(e) => {
          e.preventDefault();
          setDragging(true);
        }}
        onDragLeave={() => setDragging(false)}
        onDrop={onDrop}
        onClick={() => input.current?.click()}
        onKeyDown={(e) => (e.key === 'Enter' || e.key === ' ') && (e.preventDefault(), input.current?.click())}
        role="button"
        tabIndex={0}
        data-testid="dropzone"
        sx={{
          border: 2,
          borderStyle: 'dashed',
          borderColor: dragging ? 'primary.main' : 'divider',
          borderRadius: 2,
          p: 4,
          textAlign: 'center',
          cursor: 'pointer',
          bgcolor: dragging ? 'action.hover' : 'transparent',
          '&:focus-visible': { outline: 2, outlineColor: 'primary.main' },
        }}
      >
        <CloudUpload fontSize="large" color="action" />
        <Typography>{file ? `${file.name} (${formatBytes(file.size)})` : 'Drag and drop a video file here, or click to choose one'}</Typography>
        <input ref={input} type="file" accept="video/*" hidden onChange={(e) => choose(e.target.files?.[0])} data-testid="file-input" />
      </Box>
      {resumable && (
        <Alert severity="info" sx={{ mt: 2 }}>
          You started uploading this file {timeAgo(resumable.savedAt)}: {resumable.parts.length} of {partCountOf(resumable)} parts are stored. The upload goes
          on from there; its title and settings are the ones you chose then (edit them in My videos).
        </Alert>
      )}
      <TextField
        label="Title"
        value={title}
        onChange={(e) => setTitle(e.target.value)}
        fullWidth
        margin="normal"
        required
        disabled={!!resumable}
        slotProps={{ htmlInput: { maxLength: 100 } }}
      />
      <TextField
        label="Description"
        value={description}
        onChange={(e) => setDescription(e.target.value)}
        fullWidth
        margin="normal"
        multiline
        minRows={3}
        disabled={!!resumable}
        slotProps={{ htmlInput: { maxLength: 5000 } }}
      />
      <FormControl fullWidth margin="normal" disabled={!!resumable}>
        <InputLabel id="visibility-label">Visibility</InputLabel>
        <Select labelId="visibility-label" label="Visibility" value={visibility} onChange={(e) => setVisibility(e.target.value as Visibility)}>
          <MenuItem value="public">Public: anyone can find it</MenuItem>
          <MenuItem value="unlisted">Unlisted: anyone with the link</MenuItem>
          <MenuItem value="private">Private: only you</MenuItem>
        </Select>
      </FormControl>
      {error && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {error}
        </Alert>
      )}
      <Button type="submit" variant="contained" sx={{ mt: 2 }} disabled={!file || !title.trim() || busy}>
        {resumable ? 'Resume upload' : 'Upload'}
      </Button>
    </Paper>
  );
}
