import { useState } from 'react';
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
  FormControl,
  IconButton,
  InputLabel,
  MenuItem,
  Paper,
  Select,
  Stack,
  TextField,
  Tooltip,
  Typography,
} from '@mui/material';
import EditIcon from '@mui/icons-material/Edit';
import DeleteIcon from '@mui/icons-material/Delete';
import ClosedCaptionIcon from '@mui/icons-material/ClosedCaption';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, errorMessage, unwrap, type Video, type Visibility } from '../api/client';
import { Redirect, useAuth } from '../auth';
import { CaptionsDialog } from '../components/CaptionsDialog';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { formatBytes, formatCount, timeAgo } from '../format';
import { forgetVideoUpload, savedUploads } from '../upload/resume';

const statusColor: Record<Video['status'], 'default' | 'success' | 'error' | 'warning' | 'info'> = {
  uploading: 'default',
  queued: 'info',
  processing: 'info',
  ready: 'success',
  failed: 'error',
  removed: 'warning',
};

function EditDialog({ video, onClose }: { video: Video; onClose: () => void }) {
  const [title, setTitle] = useState(video.title);
  const [description, setDescription] = useState(video.description);
  const [visibility, setVisibility] = useState<Visibility>(video.visibility);
  const qc = useQueryClient();
  const save = useMutation({
    mutationFn: async () => unwrap(await api.PATCH('/videos/{videoId}', { params: { path: { videoId: video.id } }, body: { title, description, visibility } })),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ['my-videos'] });
      qc.invalidateQueries({ queryKey: ['video', video.id] });
      onClose();
    },
  });
  return (
    <Dialog open onClose={onClose} fullWidth maxWidth="sm" aria-labelledby="edit-title">
      <DialogTitle id="edit-title">Edit video</DialogTitle>
      <DialogContent>
        <TextField
          label="Title"
          value={title}
          onChange={(e) => setTitle(e.target.value)}
          fullWidth
          margin="normal"
          required
          slotProps={{ htmlInput: { maxLength: 100 } }}
        />
        <TextField label="Description" value={description} onChange={(e) => setDescription(e.target.value)} fullWidth margin="normal" multiline minRows={3} />
        <FormControl fullWidth margin="normal">
          <InputLabel id="edit-visibility">Visibility</InputLabel>
          <Select labelId="edit-visibility" label="Visibility" value={visibility} onChange={(e) => setVisibility(e.target.value as Visibility)}>
            <MenuItem value="public">Public</MenuItem>
            <MenuItem value="unlisted">Unlisted</MenuItem>
            <MenuItem value="private">Private</MenuItem>
          </Select>
        </FormControl>
        {save.isError && <Alert severity="error">{errorMessage(save.error)}</Alert>}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Cancel</Button>
        <Button variant="contained" onClick={() => save.mutate()} disabled={save.isPending || !title.trim()}>
          Save
        </Button>
      </DialogActions>
    </Dialog>
  );
}

function DeleteDialog({ video, onClose }: { video: Video; onClose: () => void }) {
  const qc = useQueryClient();
  const unfinished = video.status === 'uploading';
  return (
    <ConfirmDialog
      title={unfinished ? `Discard the upload of “${video.title}”?` : `Delete “${video.title}”?`}
      confirm={unfinished ? 'Discard' : 'Delete'}
      action={async () => unwrap(await api.DELETE('/videos/{videoId}', { params: { path: { videoId: video.id } } }))}
      onDone={() => {
        forgetVideoUpload(video.id);
        qc.invalidateQueries({ queryKey: ['my-videos'] });
        qc.invalidateQueries({ queryKey: ['videos'] });
      }}
      onClose={onClose}
    >
      {unfinished
        ? 'The parts uploaded so far are deleted; to publish the video, upload it again.'
        : 'The video, its comments and its files are deleted for good.'}
    </ConfirmDialog>
  );
}

/**
 * UnfinishedUpload says how far an upload got (this browser's record of it, when it has one) and
 * offers to resume it, by choosing the file again on the upload page, or to discard it.
 */
function UnfinishedUpload({ video, onDiscard }: { video: Video; onDiscard: () => void }) {
  const saved = savedUploads().get(video.id);
  const stored = saved ? Math.min(saved.size, saved.parts.length * saved.partSize) : 0;
  return (
    <Stack direction="row" spacing={1} sx={{ alignItems: 'center', flexWrap: 'wrap', mt: 0.5 }} useFlexGap>
      <Typography variant="body2" color="text.secondary">
        {saved
          ? `Upload unfinished: ${formatBytes(stored)} of ${formatBytes(saved.size)} stored. Choose the same file on the upload page to go on.`
          : 'Upload unfinished. Choose the same file on the upload page of the browser that started it to go on.'}
      </Typography>
      <Button size="small" component={RouterLink} to="/upload" aria-label={`Resume the upload of ${video.title}`}>
        Resume
      </Button>
      <Button size="small" color="error" onClick={onDiscard} aria-label={`Discard the upload of ${video.title}`}>
        Discard
      </Button>
    </Stack>
  );
}

export default function MyVideos() {
  const { token } = useAuth();
  const [editing, setEditing] = useState<Video | null>(null);
  const [deleting, setDeleting] = useState<Video | null>(null);
  const [captioning, setCaptioning] = useState<Video | null>(null);
  const pages = useInfiniteQuery({
    queryKey: ['my-videos'],
    enabled: !!token,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => unwrap(await api.GET('/me/videos', { params: { query: { cursor: pageParam, limit: 50 } } })),
    getNextPageParam: (p) => p.nextCursor,
    // Videos in flight change status on their own.
    refetchInterval: (q) => (q.state.data?.pages.some((p) => p.videos.some((v) => ['uploading', 'queued', 'processing'].includes(v.status))) ? 3000 : false),
  });
  if (!token) return <Redirect to="/login?returnTo=/my/videos" />;
  const videos = pages.data?.pages.flatMap((p) => p.videos) ?? [];
  return (
    <Box sx={{ maxWidth: 1000, mx: 'auto' }}>
      <Stack direction="row" sx={{ alignItems: 'center', justifyContent: 'space-between', mb: 2 }}>
        <Typography variant="h5" component="h1">
          My videos
        </Typography>
        <Button component={RouterLink} to="/upload" variant="contained">
          Upload
        </Button>
      </Stack>
      {pages.isLoading && <CircularProgress aria-label="Loading your videos" />}
      {pages.isError && <Alert severity="error">{errorMessage(pages.error)}</Alert>}
      {pages.isSuccess && videos.length === 0 && <Typography color="text.secondary">You have not uploaded anything yet.</Typography>}
      <Stack component="ul" spacing={1.5} sx={{ listStyle: 'none', p: 0 }} aria-label="My videos">
        {videos.map((v) => (
          <Paper
            component="li"
            key={v.id}
            variant="outlined"
            sx={{ p: 1.5, display: 'flex', gap: 2, alignItems: 'center', flexWrap: { xs: 'wrap', sm: 'nowrap' } }}
          >
            <Box sx={{ width: 160, flexShrink: 0, aspectRatio: '16 / 9', bgcolor: 'grey.900', borderRadius: 1, overflow: 'hidden' }}>
              {v.playback?.posterUrl && <img src={v.playback.posterUrl} alt="" style={{ width: '100%', height: '100%', objectFit: 'cover' }} />}
            </Box>
            <Box sx={{ flex: 1, minWidth: 0 }}>
              <Typography component={RouterLink} to={`/watch/${v.id}`} sx={{ fontWeight: 600, color: 'inherit', overflowWrap: 'anywhere' }}>
                {v.title}
              </Typography>
              <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap', my: 0.5 }} useFlexGap>
                <Chip size="small" label={v.status} color={statusColor[v.status]} />
                <Chip size="small" label={v.visibility} variant="outlined" />
                {v.moderation && v.moderation.state !== 'ok' && <Chip size="small" color="warning" label={`moderation: ${v.moderation.state}`} />}
              </Stack>
              <Typography variant="body2" color="text.secondary">
                {formatCount(v.stats.views, 'view')} · {formatCount(v.stats.likes, 'like')} · uploaded {timeAgo(v.createdAt)}
              </Typography>
              {v.status === 'uploading' && <UnfinishedUpload video={v} onDiscard={() => setDeleting(v)} />}
              {v.status === 'failed' && (
                <Typography variant="body2" color="error">
                  Transcoding failed: {v.failureReason || 'no reason was given'}
                </Typography>
              )}
            </Box>
            <Stack direction="row">
              {v.status !== 'uploading' && v.status !== 'removed' && (
                <Tooltip title="Captions">
                  <IconButton aria-label={`Captions of ${v.title}`} onClick={() => setCaptioning(v)}>
                    <ClosedCaptionIcon />
                  </IconButton>
                </Tooltip>
              )}
              <Tooltip title="Edit">
                <IconButton aria-label={`Edit ${v.title}`} onClick={() => setEditing(v)}>
                  <EditIcon />
                </IconButton>
              </Tooltip>
              <Tooltip title="Delete">
                <IconButton aria-label={`Delete ${v.title}`} onClick={() => setDeleting(v)}>
                  <DeleteIcon />
                </IconButton>
              </Tooltip>
            </Stack>
          </Paper>
        ))}
      </Stack>
      {pages.hasNextPage && <Button onClick={() => pages.fetchNextPage()}>More</Button>}
      {editing && <EditDialog video={editing} onClose={() => setEditing(null)} />}
      {deleting && <DeleteDialog video={deleting} onClose={() => setDeleting(null)} />}
      {captioning && <CaptionsDialog video={captioning} onClose={() => setCaptioning(null)} />}
    </Box>
  );
}
