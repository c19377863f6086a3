import { useState } from 'react';
import { Alert, Box, Button, CircularProgress, LinearProgress, Paper, Stack, Typography } from '@mui/material';
import { useInfiniteQuery, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, errorMessage, unwrap } from '../api/client';
import { Redirect, useAuth } from '../auth';
import { ConfirmDialog } from '../components/ConfirmDialog';
import { formatDuration, timeAgo } from '../format';

/** watchedPercent is how much of a video of duration seconds was watched up to position (0–100). */
export function watchedPercent(position: number, duration?: number): number {
  if (!duration || duration <= 0) return 0;
  return Math.min(100, Math.max(0, Math.round((position / duration) * 100)));
}

function ClearDialog({ onClose }: { onClose: () => void }) {
  const qc = useQueryClient();
  return (
    <ConfirmDialog
      title="Clear your watch history?"
      confirm="Clear history"
      action={async () => unwrap(await api.DELETE('/me/history'))}
      onDone={() => {
        qc.invalidateQueries({ queryKey: ['history'] });
        qc.removeQueries({ queryKey: ['history-position'] });
      }}
      onClose={onClose}
    >
      Every video leaves the list, and no video offers to resume where you stopped.
    </ConfirmDialog>
  );
}

/** History lists the videos the signed-in viewer watched, most recent first, with how far they got. */
export default function History() {
  const { token } = useAuth();
  const [clearing, setClearing] = useState(false);
  const pages = useInfiniteQuery({
    queryKey: ['history'],
    enabled: !!token,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => unwrap(await api.GET('/me/history', { params: { query: { cursor: pageParam, limit: 24 } } })),
    getNextPageParam: (p) => p.nextCursor,
  });
  if (!token) return <Redirect to="/login?returnTo=/history" />;
  const items = pages.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <Box sx={{ maxWidth: 1000, mx: 'auto' }}>
      <Stack direction="row" sx={{ alignItems: 'center', justifyContent: 'space-between', mb: 2 }}>
        <Typography variant="h5" component="h1">
          History
        </Typography>
        <Button variant="outlined" color="error" onClick={() => setClearing(true)} disabled={items.length === 0}>
          Clear history
        </Button>
      </Stack>
      {pages.isLoading && <CircularProgress aria-label="Loading your history" />}
      {pages.isError && <Alert severity="error">{errorMessage(pages.error)}</Alert>}
      {pages.isSuccess && items.length === 0 && <Typography color="text.secondary">Videos you watch appear here.</Typography>}
      <Stack component="ul" spacing={1.5} sx={{ listStyle: 'none', p: 0 }} aria-label="Watched videos">
        {items.map(({ video: v, positionSeconds, watchedAt }) => {
          const pct = watchedPercent(positionSeconds, v.durationSeconds);
          return (
            <Paper
              component="li"
              key={v.id}
              variant="outlined"
              sx={{ p: 1.5, display: 'flex', gap: 2, alignItems: 'center', flexWrap: { xs: 'wrap', sm: 'nowrap' } }}
            >
              <Box sx={{ width: 160, flexShrink: 0 }}>
                <Box sx={{ aspectRatio: '16 / 9', bgcolor: 'grey.900', borderRadius: 1, overflow: 'hidden' }}>
                  {v.playback?.posterUrl && <img src={v.playback.posterUrl} alt="" style={{ width: '100%', height: '100%', objectFit: 'cover' }} />}
                </Box>
                <LinearProgress variant="determinate" value={pct} aria-label={`Watched ${pct}% of ${v.title}`} sx={{ mt: 0.5 }} />
              </Box>
              <Box sx={{ flex: 1, minWidth: 0 }}>
                <Typography component={RouterLink} to={`/watch/${v.id}`} sx={{ fontWeight: 600, color: 'inherit', overflowWrap: 'anywhere' }}>
                  {v.title}
                </Typography>
                <Typography variant="body2" color="text.secondary">
                  {v.owner.displayName} · watched {timeAgo(watchedAt)}
                </Typography>
                <Typography variant="body2" color="text.secondary">
                  Stopped at {formatDuration(positionSeconds)}
                  {v.durationSeconds ? ` of ${formatDuration(v.durationSeconds)}` : ''}
                </Typography>
              </Box>
            </Paper>
          );
        })}
      </Stack>
      {pages.hasNextPage && (
        <Button onClick={() => pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
          More
        </Button>
      )}
      {clearing && <ClearDialog onClose={() => setClearing(false)} />}
    </Box>
  );
}
