import { useState } from 'react';
import { Alert, Button, Chip, Paper, Stack, TextField, Typography } from '@mui/material';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, errorMessage, unwrap } from '../../api/client';
import { timeAgo } from '../../format';
import { moderationKey, PagedList, usePaged } from './shared';
import { TargetReports } from './TargetReports';

/**
 * CommentDecision approves a comment (publishes a held one and dismisses its reports) or
 * removes it with its replies; both go to the audit log.
 */
export function CommentDecision({ commentId, held }: { commentId: string; held: boolean }) {
  const [note, setNote] = useState('');
  const qc = useQueryClient();
  const decide = useMutation({
    mutationFn: async (action: 'approve' | 'remove') => {
      const r = await api.POST('/moderation/comments/{commentId}/decision', {
        params: { path: { commentId } },
        body: { action, note: note || undefined },
      });
      // A removal answers 204, without a body.
      if (r.response.status !== 204) unwrap(r);
    },
    onSuccess: () => qc.invalidateQueries({ queryKey: [moderationKey] }),
  });
  return (
    <Stack spacing={1} sx={{ mt: 1 }}>
      <TextField size="small" label="Note" value={note} onChange={(e) => setNote(e.target.value)} />
      <Stack direction="row" spacing={1}>
        <Button variant="contained" color="success" onClick={() => decide.mutate('approve')} disabled={decide.isPending}>
          {held ? 'Publish' : 'Dismiss reports'}
        </Button>
        <Button variant="contained" color="error" onClick={() => decide.mutate('remove')} disabled={decide.isPending}>
          Remove comment
        </Button>
      </Stack>
      {decide.isError && <Alert severity="error">{errorMessage(decide.error)}</Alert>}
    </Stack>
  );
}

/** CommentQueue lists the comments held by the term policy or reported, oldest first. */
export default function CommentQueue() {
  const queue = usePaged(['comments'], async (cursor) => unwrap(await api.GET('/moderation/comments', { params: { query: { cursor, limit: 20 } } })));
  const items = queue.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <PagedList query={queue} count={items.length} emptyText="No comment awaits review." what="comments">
      <Stack component="ul" spacing={2} aria-label="Comments awaiting review" sx={{ listStyle: 'none', p: 0 }}>
        {items.map((it) => {
          const reports = Object.values(it.reports).reduce((a, b) => a + b, 0);
          return (
            <Paper component="li" key={it.comment.id} variant="outlined" sx={{ p: 2 }}>
              <Typography sx={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>{it.comment.body}</Typography>
              <Typography variant="body2" color="text.secondary">
                @{it.comment.author.username} · {timeAgo(it.comment.createdAt)} · on <RouterLink to={`/watch/${it.videoId}`}>{it.videoTitle}</RouterLink>
              </Typography>
              <Stack direction="row" spacing={1} sx={{ flexWrap: 'wrap', mt: 1 }} useFlexGap>
                {it.held && <Chip size="small" variant="outlined" label="held by the term policy" />}
                {Object.entries(it.reports).map(([reason, n]) => (
                  <Chip key={reason} size="small" label={`${reason}: ${n}`} />
                ))}
              </Stack>
              <TargetReports target={{ type: 'comment', id: it.comment.id }} count={reports} />
              <CommentDecision commentId={it.comment.id} held={it.held} />
            </Paper>
          );
        })}
      </Stack>
    </PagedList>
  );
}
