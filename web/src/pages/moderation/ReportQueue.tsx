import { Chip, Paper, Stack, Typography } from '@mui/material';
import { Link as RouterLink } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { CommentDecision } from './CommentQueue';
import { PagedList, usePaged, type ReportQueueItem } from './shared';
import { TargetReports } from './TargetReports';
import { VideoDecision } from './VideoDecision';

/** ReportChips shows an item's report weight and its reports by reason. */
function ReportChips({ item }: { item: ReportQueueItem }) {
  return (
    <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap', mt: 1 }} useFlexGap>
      <Chip size="small" color="primary" variant="outlined" label={`report weight ${item.reportWeight.toFixed(2)}`} />
      {Object.entries(item.reports).map(([reason, n]) => (
        <Chip key={reason} size="small" label={`${reason}: ${n}`} />
      ))}
    </Stack>
  );
}

/**
 * ReportQueue lists the videos and comments with open reports, held or not, heaviest reports
 * first: every report reaches a moderator, whatever its weight.
 */
export default function ReportQueue() {
  const queue = usePaged(['reports'], async (cursor) => unwrap(await api.GET('/moderation/reports', { params: { query: { cursor, limit: 20 } } })));
  const items = queue.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <PagedList query={queue} count={items.length} emptyText="Nothing has open reports." what="reported videos and comments">
      <Stack component="ul" spacing={2} aria-label="Reported videos and comments" sx={{ listStyle: 'none', p: 0 }}>
        {items.map((it) => {
          if (it.targetType === 'comment' && it.comment) {
            const held = it.comment.held ?? false;
            return (
              <Paper component="li" key={`comment-${it.targetId}`} variant="outlined" sx={{ p: 2 }}>
                <Typography sx={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>{it.comment.body}</Typography>
                <Typography variant="body2" color="text.secondary">
                  comment by @{it.comment.author.username} on <RouterLink to={`/watch/${it.video.id}`}>{it.video.title}</RouterLink> · {it.reporters} reporter
                  {it.reporters === 1 ? '' : 's'}
                  {held ? ' · held' : ''}
                </Typography>
                <ReportChips item={it} />
                <TargetReports target={{ type: 'comment', id: it.targetId }} count={it.reporters} />
                <CommentDecision commentId={it.targetId} held={held} />
              </Paper>
            );
          }
          const held = it.video.moderation?.state === 'held';
          return (
            <Paper component="li" key={`video-${it.video.id}`} variant="outlined" sx={{ p: 2 }}>
              <Typography component={RouterLink} to={`/watch/${it.video.id}`} sx={{ fontWeight: 600, color: 'inherit' }}>
                {it.video.title}
              </Typography>
              <Typography variant="body2" color="text.secondary">
                by @{it.video.owner.username} · {it.reporters} reporter{it.reporters === 1 ? '' : 's'}
                {held ? ' · held' : ''}
              </Typography>
              <ReportChips item={it} />
              <TargetReports target={{ type: 'video', id: it.video.id }} count={it.reporters} />
              <VideoDecision videoId={it.video.id} held={held} />
            </Paper>
          );
        })}
      </Stack>
    </PagedList>
  );
}
