import { Alert, Avatar, Box, Button, CircularProgress, Stack, Typography } from '@mui/material';
import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useNavigate, useParams } from 'react-router-dom';
import { api, errorMessage, HttpError, unwrap } from '../api/client';
import { useAuth } from '../auth';
import { VideoGrid } from '../components/VideoGrid';
import { formatCount } from '../format';
import NotFound from './NotFound';

export default function Channel() {
  const { username = '' } = useParams();
  const { token, user } = useAuth();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const channel = useQuery({
    queryKey: ['channel', username],
    queryFn: async () => unwrap(await api.GET('/users/{username}', { params: { path: { username } } })),
    retry: false,
  });
  const videos = useInfiniteQuery({
    queryKey: ['channel-videos', username],
    enabled: channel.isSuccess,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(await api.GET('/users/{username}/videos', { params: { path: { username }, query: { cursor: pageParam, limit: 24 } } })),
    getNextPageParam: (p) => p.nextCursor,
  });
  const sub = useMutation({
    mutationFn: async (on: boolean) =>
      unwrap(
        on
          ? await api.PUT('/users/{username}/subscription', { params: { path: { username } } })
          : await api.DELETE('/users/{username}/subscription', { params: { path: { username } } }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: ['channel', username] }),
  });
  if (channel.isLoading) return <CircularProgress aria-label="Loading channel" />;
  if (channel.error instanceof HttpError && channel.error.status === 404) return <NotFound what="channel" />;
  if (channel.isError) return <Alert severity="error">{errorMessage(channel.error)}</Alert>;
  const c = channel.data!;
  const list = videos.data?.pages.flatMap((p) => p.videos) ?? [];
  return (
    <Box>
      <Stack direction="row" spacing={2} sx={{ alignItems: 'center', flexWrap: 'wrap', mb: 3 }} useFlexGap>
        <Avatar src={c.avatarUrl} alt="" sx={{ width: 72, height: 72, fontSize: 32 }}>
          {c.displayName.slice(0, 1).toUpperCase()}
        </Avatar>
        <Box sx={{ flex: 1 }}>
          <Typography variant="h5" component="h1">
            {c.displayName}
          </Typography>
          <Typography color="text.secondary">
            @{c.username} · {formatCount(c.subscriberCount, 'subscriber')} · {formatCount(c.videoCount, 'video')}
          </Typography>
          {c.bio && (
            <Typography variant="body2" sx={{ mt: 1, whiteSpace: 'pre-wrap', overflowWrap: 'anywhere', maxWidth: 720 }} data-testid="channel-bio">
              {c.bio}
            </Typography>
          )}
        </Box>
        {user?.username !== c.username && (
          <Button
            variant={c.subscribed ? 'outlined' : 'contained'}
            aria-pressed={!!c.subscribed}
            onClick={() => (token ? sub.mutate(!c.subscribed) : navigate(`/login?returnTo=/channel/${username}`))}
            disabled={sub.isPending}
          >
            {c.subscribed ? 'Subscribed' : 'Subscribe'}
          </Button>
        )}
      </Stack>
      {sub.isError && <Alert severity="error">{errorMessage(sub.error)}</Alert>}
      <VideoGrid
        label={`Videos of ${c.displayName}`}
        videos={list}
        loading={videos.isLoading || videos.isFetchingNextPage}
        error={videos.isError ? errorMessage(videos.error) : undefined}
        hasMore={videos.hasNextPage && !videos.isFetchingNextPage}
        onMore={() => videos.fetchNextPage()}
        empty={<Typography color="text.secondary">This channel has no public videos yet.</Typography>}
      />
    </Box>
  );
}
