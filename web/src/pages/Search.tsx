import { Box, FormControl, InputLabel, MenuItem, Select, Stack, Typography } from '@mui/material';
import { useInfiniteQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router-dom';
import { api, errorMessage, unwrap } from '../api/client';
import { VideoGrid } from '../components/VideoGrid';

type Duration = 'short' | 'medium' | 'long';
type Uploaded = 'hour' | 'day' | 'week' | 'month' | 'year';
type Sort = 'relevance' | 'date' | 'views';

const filters = {
  duration: [
    ['', 'Any length'],
    ['short', 'Under 4 minutes'],
    ['medium', '4–20 minutes'],
    ['long', 'Over 20 minutes'],
  ],
  uploaded: [
    ['', 'Any time'],
    ['hour', 'Last hour'],
    ['day', 'Today'],
    ['week', 'This week'],
    ['month', 'This month'],
    ['year', 'This year'],
  ],
  sort: [
    ['relevance', 'Relevance'],
    ['date', 'Upload date'],
    ['views', 'View count'],
  ],
} as const;

export default function Search() {
  const [params, setParams] = useSearchParams();
  const q = params.get('q') ?? '';
  const duration = (params.get('duration') || undefined) as Duration | undefined;
  const uploaded = (params.get('uploaded') || undefined) as Uploaded | undefined;
  const sort = (params.get('sort') || 'relevance') as Sort;
  const results = useInfiniteQuery({
    queryKey: ['search', q, duration, uploaded, sort],
    enabled: q.trim() !== '',
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) => unwrap(await api.GET('/search', { params: { query: { q, duration, uploaded, sort, cursor: pageParam, limit: 24 } } })),
    getNextPageParam: (p) => p.nextCursor,
  });
  const set = (key: string, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  const videos = results.data?.pages.flatMap((p) => p.videos) ?? [];
  return (
    <Box>
      <Typography variant="h5" component="h1" sx={{ mb: 2 }}>
        {q ? `Results for “${q}”` : 'Search'}
      </Typography>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={2} sx={{ mb: 3 }}>
        {(Object.keys(filters) as (keyof typeof filters)[]).map((key) => (
          <FormControl key={key} size="small" sx={{ minWidth: 170 }}>
            <InputLabel id={`f-${key}`}>{key === 'sort' ? 'Sort by' : key === 'duration' ? 'Duration' : 'Upload date'}</InputLabel>
            <Select
              labelId={`f-${key}`}
              label={key === 'sort' ? 'Sort by' : key === 'duration' ? 'Duration' : 'Upload date'}
              value={params.get(key) ?? (key === 'sort' ? 'relevance' : '')}
              onChange={(e) => set(key, e.target.value)}
              displayEmpty
            >
              {filters[key].map(([v, label]) => (
                <MenuItem key={v} value={v}>
                  {label}
                </MenuItem>
              ))}
            </Select>
          </FormControl>
        ))}
      </Stack>
      {!q && <Typography color="text.secondary">Type words in the search box above.</Typography>}
      {q && (
        <VideoGrid
          label="Search results"
          videos={videos}
          loading={results.isLoading || results.isFetchingNextPage}
          error={results.isError ? errorMessage(results.error) : undefined}
          hasMore={results.hasNextPage && !results.isFetchingNextPage}
          onMore={() => results.fetchNextPage()}
          empty={<Typography color="text.secondary">No videos match “{q}”. Try other words or fewer filters.</Typography>}
        />
      )}
    </Box>
  );
}
