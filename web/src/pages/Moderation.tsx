import { useState } from 'react';
import { Alert, Box, Button, Chip, CircularProgress, Paper, Stack, TextField, Typography } from '@mui/material';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, errorMessage, HttpError, unwrap, type QueueItem } from '../api/client';
import { Redirect, useAuth } from '../auth';
import { timeAgo } from '../format';

function Decision({ item }: { item: QueueItem }) {
  const [labels, setLabels] = useState('');
  const [note, setNote] = useState('');
  const qc = useQueryClient();
  const decide = useMutation({
    mutationFn: async (action: 'approve' | 'remove' | 'restrict') =>
      unwrap(
        await api.POST('/moderation/videos/{videoId}/decision', {
          params: { path: { videoId: item.video.id } },
          body: {
            action,
            note: note || undefined,
            labels:
              action === 'restrict'
                ? labels
                    .split(',')
                    .map((l) => l.trim())
                    .filter(Boolean)
                : undefined,
          },
        }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['moderation-queue'] }),
  });
  return (
    <Stack spacing={1} sx={{ mt: 1 }}>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1}>
        <TextField
          size="small"
          label="Content warnings (comma-separated, for restrict)"
          value={labels}
          onChange={(e) => setLabels(e.target.value)}
          sx={{ flex: 1 }}
        />
        <TextField size="small" label="Note" value={note} onChange={(e) => setNote(e.target.value)} sx={{ flex: 1 }} />
      </Stack>
      <Stack direction="row" spacing={1}>
        <Button variant="contained" color="success" onClick={() => decide.mutate('approve')} disabled={decide.isPending}>
          Approve
        </Button>
        <Button variant="outlined" onClick={() => decide.mutate('restrict')} disabled={decide.isPending || !labels.trim()}>
          Restrict
        </Button>
        <Button variant="contained" color="error" onClick={() => decide.mutate('remove')} disabled={decide.isPending}>
          Remove
        </Button>
      </Stack>
      {decide.isError && <Alert severity="error">{errorMessage(decide.error)}</Alert>}
    </Stack>
  );
}

export default function Moderation() {
  const { token } = useAuth();
  const queue = useInfiniteQuery({
    queryKey: ['moderation-queue'],
    enabled: !!token,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => unwrap(await api.GET('/moderation/queue', { params: { query: { cursor: pageParam, limit: 20 } } })),
    getNextPageParam: (p) => p.nextCursor,
    retry: false,
  });
  if (!token) return <Redirect to="/login?returnTo=/moderation" />;
  if (queue.error instanceof HttpError && queue.error.status === 403)
    return <Alert severity="warning">The moderation queue is for moderators. An operator grants the role with `sunomi users set-role`.</Alert>;
  const items = queue.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Box sx={{ maxWidth: 1000, mx: 'auto' }}>
      <Typography variant="h5" component="h1" sx={{ mb: 2 }}>
        Moderation queue
      </Typography>
      {queue.isLoading && <CircularProgress aria-label="Loading the queue" />}
      {queue.isError && <Alert severity="error">{errorMessage(queue.error)}</Alert>}
      {queue.isSuccess && items.length === 0 && <Typography color="text.secondary">Nothing awaits review.</Typography>}
      <Stack component="ul" spacing={2} sx={{ listStyle: 'none', p: 0 }}>
        {items.map((it) => (
          <Paper component="li" key={it.video.id} variant="outlined" sx={{ p: 2 }}>
            <Typography component={RouterLink} to={`/watch/${it.video.id}`} sx={{ fontWeight: 600, color: 'inherit' }}>
              {it.video.title}
            </Typography>
            <Typography variant="body2" color="text.secondary">
              by @{it.video.owner.username} · held {timeAgo(it.heldAt)}
              {it.reason ? ` · ${it.reason}` : ''}
            </Typography>
            <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap', mt: 1 }} useFlexGap>
              {Object.entries(it.reports).map(([reason, n]) => (
                <Chip key={reason} size="small" label={`${reason}: ${n}`} />
              ))}
              {it.reportWeight ? <Chip size="small" variant="outlined" label={`report weight ${it.reportWeight.toFixed(2)}`} /> : null}
            </Stack>
            <Decision item={it} />
          </Paper>
        ))}
      </Stack>
      {queue.hasNextPage && <Button onClick={() => queue.fetchNextPage()}>More</Button>}
    </Box>
  );
}
