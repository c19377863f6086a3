import { useRef, useState, type FormEvent } from 'react';
import {
  Alert,
  Box,
  Button,
  Chip,
  CircularProgress,
  Dialog,
  DialogActions,
  DialogContent,
  DialogTitle,
  Divider,
  IconButton,
  LinearProgress,
  List,
  ListItem,
  ListItemText,
  Stack,
  TextField,
  Tooltip,
  Typography,
} from '@mui/material';
import DeleteIcon from '@mui/icons-material/Delete';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, HttpError, unwrap, type Video } from '../api/client';
import { unwrapLimited } from '../api/limits';

/** vttProblem is what is wrong with a caption file before it is sent ('' when it looks like WebVTT). */
export function vttProblem(text: string): string {
  if (!/^(\uFEFF)?WEBVTT([ \t].*)?(\r?\n|$)/.test(text)) return 'This is not a WebVTT file: its first line must be WEBVTT.';
  return '';
}

/** readText reads a chosen file as UTF-8 text (FileReader, which every browser and jsdom have). */
function readText(file: Blob): Promise<string> {
  return new Promise((resolve, reject) => {
    const reader = new FileReader();
    reader.onload = () => resolve(String(reader.result));
    reader.onerror = () => reject(reader.error ?? new Error('the file could not be read'));
    reader.readAsText(file);
  });
}

function useCaptionChange(videoId: string) {
  const qc = useQueryClient();
  return () => {
    qc.invalidateQueries({ queryKey: ['captions', videoId] });
    qc.invalidateQueries({ queryKey: ['video', videoId] });
  };
}

function UploadForm({ videoId }: { videoId: string }) {
  const [language, setLanguage] = useState('');
  const [file, setFile] = useState<File | null>(null);
  const [problem, setProblem] = useState('');
  const input = useRef<HTMLInputElement>(null);
  const changed = useCaptionChange(videoId);
  const upload = useMutation({
    mutationFn: async (text: string) =>
      unwrap(
        await api.PUT('/videos/{videoId}/captions/{language}', {
          params: { path: { videoId, language: language.trim() } },
          body: text,
          bodySerializer: (b: string) => b,
          headers: { 'Content-Type': 'text/vtt' },
        }),
      ),
    onSuccess: () => {
      setFile(null);
      setLanguage('');
      if (input.current) input.current.value = '';
      changed();
    },
  });
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    if (!file) return;
    const text = await readText(file);
    const p = vttProblem(text);
    setProblem(p);
    if (!p) upload.mutate(text);
  };
  // The API names what is wrong: the language, or the file (with the line).
  const err = upload.error instanceof HttpError ? upload.error : null;
  const fieldError = (name: string) => err?.fields?.[name];
  return (
    <Box component="form" onSubmit={submit} aria-labelledby="upload-captions-heading">
      <Typography id="upload-captions-heading" variant="subtitle1" component="h3">
        Upload a caption file
      </Typography>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2} sx={{ alignItems: { sm: 'flex-start' }, mt: 1 }}>
        <TextField
          label="Language"
          value={language}
          onChange={(e) => setLanguage(e.target.value)}
          placeholder="en, fr, pt-BR"
          size="small"
          required
          error={!!fieldError('language')}
          helperText={fieldError('language') ?? 'A language tag'}
          slotProps={{ htmlInput: { maxLength: 35 } }}
        />
        <Box>
          <input
            ref={input}
            type="file"
            accept=".vtt,text/vtt"
            hidden
            data-testid="caption-file"
            onChange={(e) => {
              setFile(e.target.files?.[0] ?? null);
              setProblem('');
              upload.reset();
            }}
          />
          <Button variant="outlined" onClick={() => input.current?.click()}>
            {file ? file.name : 'Choose a WebVTT file'}
          </Button>
        </Box>
        <Button type="submit" variant="contained" disabled={!file || !language.trim() || upload.isPending}>
          Upload captions
        </Button>
      </Stack>
      {(problem || (upload.isError && !fieldError('language'))) && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {problem || errorMessage(upload.error)}
        </Alert>
      )}
      {upload.isSuccess && (
        <Alert severity="success" sx={{ mt: 1 }}>
          {upload.data.label} captions uploaded.
        </Alert>
      )}
    </Box>
  );
}

function AutoCaptions({ video, available }: { video: Video; available: boolean }) {
  const [language, setLanguage] = useState('');
  const changed = useCaptionChange(video.id);
  const transcribe = useMutation({
    mutationFn: async () =>
      unwrapLimited(
        await api.POST('/videos/{videoId}/captions/auto', { params: { path: { videoId: video.id } }, body: { language: language.trim() || undefined } }),
      ),
    onSuccess: changed,
  });
  return (
    <Box component="section" aria-labelledby="auto-captions-heading">
      <Typography id="auto-captions-heading" variant="subtitle1" component="h3">
        Automatic captions
      </Typography>
      {!available ? (
        <Typography variant="body2" color="text.secondary">
          This server has no transcription service, so it cannot caption videos automatically.
        </Typography>
      ) : (
        <>
          <Typography variant="body2" color="text.secondary">
            The audio is transcribed into captions, replacing any of the same language.
          </Typography>
          <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2} sx={{ alignItems: { sm: 'flex-start' }, mt: 1 }}>
            <TextField
              label="Spoken language (optional)"
              value={language}
              onChange={(e) => setLanguage(e.target.value)}
              size="small"
              helperText="Left empty, the service detects it"
              slotProps={{ htmlInput: { maxLength: 35 } }}
            />
            <Button variant="contained" onClick={() => transcribe.mutate()} disabled={transcribe.isPending || video.status !== 'ready'}>
              Generate captions
            </Button>
          </Stack>
          {video.status !== 'ready' && (
            <Typography variant="body2" color="text.secondary">
              Available once the video is transcoded.
            </Typography>
          )}
          {transcribe.isPending && (
            <Box sx={{ mt: 1 }} aria-live="polite">
              <Typography variant="body2">Transcribing the audio; this can take a few minutes…</Typography>
              <LinearProgress aria-label="Transcription progress" />
            </Box>
          )}
          {transcribe.isError && (
            <Alert severity="error" sx={{ mt: 1 }}>
              Automatic captions failed: {errorMessage(transcribe.error)}
            </Alert>
          )}
          {transcribe.isSuccess && (
            <Alert severity="success" sx={{ mt: 1 }}>
              {transcribe.data.label} captions added.
            </Alert>
          )}
        </>
      )}
    </Box>
  );
}

/** CaptionsDialog lets a video's owner see, upload, generate and delete its caption tracks. */
export function CaptionsDialog({ video, onClose }: { video: Video; onClose: () => void }) {
  const changed = useCaptionChange(video.id);
  const list = useQuery({
    queryKey: ['captions', video.id],
    queryFn: async () => unwrap(await api.GET('/videos/{videoId}/captions', { params: { path: { videoId: video.id } } })),
  });
  const del = useMutation({
    mutationFn: async (language: string) =>
      unwrap(await api.DELETE('/videos/{videoId}/captions/{language}', { params: { path: { videoId: video.id, language } } })),
    onSuccess: changed,
  });
  const tracks = list.data?.captions ?? [];
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="captions-title">
      <DialogTitle id="captions-title">Captions of “{video.title}”</DialogTitle>
      <DialogContent>
        {list.isLoading && <CircularProgress size={24} aria-label="Loading captions" />}
        {list.isError && <Alert severity="error">{errorMessage(list.error)}</Alert>}
        {list.isSuccess && tracks.length === 0 && <Typography color="text.secondary">This video has no captions yet.</Typography>}
        <List aria-label="Caption tracks" dense>
          {tracks.map((c) => (
            <ListItem
              key={c.language}
              secondaryAction={
                <Tooltip title="Delete">
                  <IconButton edge="end" aria-label={`Delete the ${c.label} captions`} onClick={() => del.mutate(c.language)} disabled={del.isPending}>
                    <DeleteIcon />
                  </IconButton>
                </Tooltip>
              }
            >
              <ListItemText primary={c.label} secondary={c.language} />
              <Chip size="small" variant="outlined" label={c.source === 'upload' ? 'uploaded' : 'automatic'} sx={{ mr: 2 }} />
            </ListItem>
          ))}
        </List>
        {del.isError && <Alert severity="error">{errorMessage(del.error)}</Alert>}
        <Divider sx={{ my: 2 }} />
        <UploadForm videoId={video.id} />
        <Divider sx={{ my: 2 }} />
        {list.isSuccess && <AutoCaptions video={video} available={list.data.autoCaptions} />}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}
