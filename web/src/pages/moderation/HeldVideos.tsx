import { Chip, Paper, Stack, Typography } from '@mui/material';
import { Link as RouterLink } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { timeAgo } from '../../format';
import { PagedList, usePaged } from './shared';
import { TargetReports } from './TargetReports';
import { VideoDecision } from './VideoDecision';

/** HeldVideos is the queue of videos held for review, held longest first. */
export default function HeldVideos() {
  const queue = usePaged(['queue'], async (cursor) => unwrap(await api.GET('/moderation/queue', { params: { query: { cursor, limit: 20 } } })));
  const items = queue.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <PagedList query={queue} count={items.length} emptyText="Nothing awaits review." what="held videos">
      <Stack component="ul" spacing={2} aria-label="Held videos" sx={{ listStyle: 'none', p: 0 }}>
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
            <TargetReports target={{ type: 'video', id: it.video.id }} count={Object.values(it.reports).reduce((a, b) => a + b, 0)} />
            <VideoDecision videoId={it.video.id} held />
          </Paper>
        ))}
      </Stack>
    </PagedList>
  );
}
