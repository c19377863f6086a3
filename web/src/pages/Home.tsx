import { Box, Button, Typography } from '@mui/material';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, errorMessage, unwrap } from '../api/client';
import { useAuth } from '../auth';
import { VideoCard, VideoGrid } from '../components/VideoGrid';

export default function Home() {
  const { token } = useAuth();
  const feed = useQuery({
    queryKey: ['feed'],
    enabled: !!token,
    queryFn: async () => unwrap(await api.GET('/feed', { params: { query: { limit: 12 } } })),
  });
  const latest = useInfiniteQuery({
    queryKey: ['videos'],
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => unwrap(await api.GET('/videos', { params: { query: { cursor: pageParam, limit: 24 } } })),
    getNextPageParam: (p) => p.nextCursor,
  });
  const videos = latest.data?.pages.flatMap((p) => p.videos) ?? [];
  return (
    <Box>
      <Typography variant="h4" component="h1" sx={{ position: 'absolute', left: -9999 }}>
        Sunomi
      </Typography>
      {token && (
        <Box component="section" aria-labelledby="subs-heading" sx={{ mb: 4 }}>
          <Typography id="subs-heading" variant="h6" component="h2" sx={{ mb: 1 }}>
            From your subscriptions
          </Typography>
          {feed.isSuccess && feed.data.videos.length === 0 && (
            <Typography color="text.secondary">New videos of the channels you subscribe to will show here.</Typography>
          )}
          {feed.isError && <Typography color="error">{errorMessage(feed.error)}</Typography>}
          <Box
            component="ul"
            aria-label="Subscriptions"
            sx={{
              listStyle: 'none',
              p: 0,
              m: 0,
              display: 'grid',
              gridAutoFlow: 'column',
              gridAutoColumns: { xs: '75%', sm: '40%', md: '23%' },
              gap: 2,
              overflowX: 'auto',
              pb: 1,
            }}
          >
            {feed.data?.videos.map((v) => (
              <li key={v.id}>
                <VideoCard video={v} />
              </li>
            ))}
          </Box>
        </Box>
      )}
      <Box component="section" aria-labelledby="latest-heading">
        <Typography id="latest-heading" variant="h6" component="h2" sx={{ mb: 1 }}>
          Latest videos
        </Typography>
        <VideoGrid
          label="Latest videos"
          videos={videos}
          loading={latest.isLoading || latest.isFetchingNextPage}
          error={latest.isError ? errorMessage(latest.error) : undefined}
          hasMore={latest.hasNextPage && !latest.isFetchingNextPage}
          onMore={() => latest.fetchNextPage()}
          empty={
            <Box sx={{ py: 6, textAlign: 'center' }}>
              <Typography sx={{ mb: 2 }}>Nothing here yet.</Typography>
              <Button component={RouterLink} to="/upload" variant="contained">
                Upload the first video
              </Button>
            </Box>
          }
        />
      </Box>
    </Box>
  );
}
