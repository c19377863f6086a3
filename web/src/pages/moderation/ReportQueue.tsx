import { Chip, Paper, Stack, Typography } from '@mui/material';
import { Link as RouterLink } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { PagedList, usePaged } from './shared';
import { TargetReports } from './TargetReports';
import { VideoDecision } from './VideoDecision';

/**
 * ReportQueue lists the videos with open reports, held or not, heaviest reports first: every
 * report reaches a moderator, whatever its weight.
 */
export default function ReportQueue() {
  const queue = usePaged(['reports'], async (cursor) => unwrap(await api.GET('/moderation/reports', { params: { query: { cursor, limit: 20 } } })));
  const items = queue.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <PagedList query={queue} count={items.length} emptyText="No video has open reports." what="reported videos">
      <Stack component="ul" spacing={2} aria-label="Reported videos" sx={{ listStyle: 'none', p: 0 }}>
        {items.map((it) => {
          const held = it.video.moderation?.state === 'held';
          return (
            <Paper component="li" key={it.video.id} variant="outlined" sx={{ p: 2 }}>
              <Typography component={RouterLink} to={`/watch/${it.video.id}`} sx={{ fontWeight: 600, color: 'inherit' }}>
                {it.video.title}
              </Typography>
              <Typography variant="body2" color="text.secondary">
                by @{it.video.owner.username} · {it.reporters} reporter{it.reporters === 1 ? '' : 's'}
                {held ? ' · held' : ''}
              </Typography>
              <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap', mt: 1 }} useFlexGap>
                <Chip size="small" color="primary" variant="outlined" label={`report weight ${it.reportWeight.toFixed(2)}`} />
                {Object.entries(it.reports).map(([reason, n]) => (
                  <Chip key={reason} size="small" label={`${reason}: ${n}`} />
                ))}
              </Stack>
              <TargetReports target={{ type: 'video', id: it.video.id }} count={it.reporters} />
              <VideoDecision videoId={it.video.id} held={held} />
            </Paper>
          );
        })}
      </Stack>
    </PagedList>
  );
}
