import { Box, LinearProgress, Typography } from '@mui/material';
import type { ProgressEvent } from '../api/client';

/** rungOrder sorts renditions from the tallest ("1080p" before "720p"). */
export function rungOrder(rungs: Record<string, number>): [string, number][] {
  return Object.entries(rungs).sort(([a], [b]) => (parseInt(b, 10) || 0) - (parseInt(a, 10) || 0) || a.localeCompare(b));
}

export function RungProgress({ event }: { event: ProgressEvent }) {
  return (
    <Box>
      <Typography variant="body2" sx={{ mb: 0.5 }}>
        Transcoding: {event.progress.overall.toFixed(0)}% · {event.chunksDone}/{event.chunksTotal} chunks
        {event.etaSeconds !== undefined && event.status === 'processing' ? ` · about ${Math.ceil(event.etaSeconds)} s left` : ''}
      </Typography>
      <LinearProgress
        variant="determinate"
        value={event.progress.overall}
        aria-label="Transcoding progress, overall"
        sx={{ height: 8, borderRadius: 1, mb: 1 }}
      />
      {rungOrder(event.progress.rungs).map(([rung, pct]) => (
        <Box key={rung} sx={{ display: 'grid', gridTemplateColumns: '64px 1fr 48px', alignItems: 'center', gap: 1 }}>
          <Typography variant="caption">{rung}</Typography>
          <LinearProgress variant="determinate" value={pct} aria-label={`Transcoding progress, ${rung}`} />
          <Typography sx={{ textAlign: 'right' }} variant="caption">
            {pct.toFixed(0)}%
          </Typography>
        </Box>
      ))}
    </Box>
  );
}
