import { useEffect, useRef } from 'react';
import { Alert, Box, Card, CardActionArea, CardContent, CircularProgress, Typography } from '@mui/material';
import { Link as RouterLink } from 'react-router-dom';
import type { Video } from '../api/client';
import { HoverPreview } from './HoverPreview';
import { formatCount, formatDuration, timeAgo } from '../format';

export function VideoCard({ video }: { video: Video }) {
  const poster = video.playback?.posterUrl;
  return (
    <Card variant="outlined" sx={{ height: '100%', bgcolor: 'transparent', border: 0 }}>
      <CardActionArea component={RouterLink} to={`/watch/${video.id}`} sx={{ borderRadius: 2 }}>
        <Box sx={{ position: 'relative', aspectRatio: '16 / 9', bgcolor: 'grey.900', borderRadius: 2, overflow: 'hidden' }}>
          <HoverPreview storyboardUrl={video.playback?.storyboardUrl}>
            {poster ? (
              <img src={poster} alt="" loading="lazy" style={{ width: '100%', height: '100%', objectFit: 'cover', display: 'block' }} />
            ) : (
              <Box sx={{ display: 'grid', placeItems: 'center', height: '100%', color: 'grey.500' }}>
                <Typography variant="caption">{video.status === 'ready' ? 'No thumbnail' : video.status}</Typography>
              </Box>
            )}
          </HoverPreview>
          {video.durationSeconds !== undefined && (
            <Box sx={{ position: 'absolute', right: 6, bottom: 6, px: 0.5, borderRadius: 0.5, bgcolor: 'rgba(0,0,0,.8)', color: 'white', fontSize: 12 }}>
              {formatDuration(video.durationSeconds)}
            </Box>
          )}
        </Box>
        <CardContent sx={{ px: 0.5, py: 1 }}>
          <Typography variant="subtitle1" component="h3" sx={{ fontWeight: 600, lineHeight: 1.3, overflowWrap: 'anywhere' }} noWrap>
            {video.title}
          </Typography>
          <Typography variant="body2" color="text.secondary" noWrap>
            {video.owner.displayName}
          </Typography>
          <Typography variant="body2" color="text.secondary">
            {formatCount(video.stats.views, 'view')} · {timeAgo(video.publishedAt ?? video.createdAt)}
          </Typography>
        </CardContent>
      </CardActionArea>
    </Card>
  );
}

export interface VideoGridProps {
  videos: Video[];
  loading?: boolean;
  error?: string;
  empty?: React.ReactNode;
  hasMore?: boolean;
  onMore?: () => void;
  label: string;
}

/** VideoGrid lays out video cards and loads more when its end scrolls into view. */
export function VideoGrid({ videos, loading, error, empty, hasMore, onMore, label }: VideoGridProps) {
  const sentinel = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const el = sentinel.current;
    if (!el || !hasMore || !onMore || typeof IntersectionObserver === 'undefined') return;
    const io = new IntersectionObserver((entries) => entries.some((e) => e.isIntersecting) && onMore(), { rootMargin: '400px' });
    io.observe(el);
    return () => io.disconnect();
  }, [hasMore, onMore]);
  return (
    <Box>
      {error && <Alert severity="error">{error}</Alert>}
      {!loading && !error && videos.length === 0 && empty}
      <Box
        component="ul"
        aria-label={label}
        sx={{
          listStyle: 'none',
          p: 0,
          m: 0,
          display: 'grid',
          gap: 2,
          gridTemplateColumns: { xs: '1fr', sm: 'repeat(2, 1fr)', md: 'repeat(3, 1fr)', lg: 'repeat(4, 1fr)' },
        }}
      >
        {videos.map((v) => (
          <li key={v.id}>
            <VideoCard video={v} />
          </li>
        ))}
      </Box>
      <div ref={sentinel} />
      {loading && (
        <Box sx={{ display: 'grid', placeItems: 'center', py: 3 }}>
          <CircularProgress aria-label="Loading videos" />
        </Box>
      )}
    </Box>
  );
}
