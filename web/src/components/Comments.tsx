import { useState, type FormEvent } from 'react';
import { Alert, Avatar, Box, Button, CircularProgress, Stack, TextField, Typography } from '@mui/material';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, errorMessage, unwrap, type Comment } from '../api/client';
import { timeAgo } from '../format';

export interface CommentsProps {
  videoId: string;
  signedIn: boolean;
  count?: number;
}

function useCommentPages(videoId: string, parentId?: string, enabled = true) {
  return useInfiniteQuery({
    queryKey: ['comments', videoId, parentId ?? ''],
    enabled,
    initialPageParam: undefined as string | undefined,
    queryFn: async ({ pageParam }) =>
      unwrap(
        await api.GET('/videos/{videoId}/comments', {
          params: { path: { videoId }, query: { parentId, cursor: pageParam, limit: 20 } },
        }),
      ),
    getNextPageParam: (p) => p.nextCursor,
  });
}

function CommentForm({ videoId, parentId, label, onDone }: { videoId: string; parentId?: string; label: string; onDone?: () => void }) {
  const [body, setBody] = useState('');
  const qc = useQueryClient();
  const post = useMutation({
    mutationFn: async () => unwrap(await api.POST('/videos/{videoId}/comments', { params: { path: { videoId } }, body: { body, parentId } })),
    onSuccess: () => {
      setBody('');
      qc.invalidateQueries({ queryKey: ['comments', videoId] });
      onDone?.();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (body.trim()) post.mutate();
  };
  return (
    <Box component="form" onSubmit={submit} sx={{ mb: 2 }}>
      <TextField
        label={label}
        value={body}
        onChange={(e) => setBody(e.target.value)}
        fullWidth
        multiline
        minRows={1}
        size="small"
        slotProps={{ htmlInput: { maxLength: 5000 } }}
      />
      {post.isError && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {errorMessage(post.error)}
        </Alert>
      )}
      <Stack direction="row" sx={{ justifyContent: 'flex-end', mt: 1 }}>
        <Button type="submit" variant="contained" size="small" disabled={!body.trim() || post.isPending}>
          {parentId ? 'Reply' : 'Comment'}
        </Button>
      </Stack>
    </Box>
  );
}

function CommentItem({ comment, videoId, signedIn }: { comment: Comment; videoId: string; signedIn: boolean }) {
  const [showReplies, setShowReplies] = useState(false);
  const [replying, setReplying] = useState(false);
  const replies = useCommentPages(videoId, comment.id, showReplies);
  const isReply = !!comment.parentId;
  return (
    <Box component="li" sx={{ listStyle: 'none', display: 'flex', gap: 1.5, mb: 2 }} aria-label={`Comment by ${comment.author.displayName}`}>
      <Avatar src={comment.author.avatarUrl} alt="" sx={{ width: isReply ? 28 : 36, height: isReply ? 28 : 36 }}>
        {comment.author.displayName.slice(0, 1).toUpperCase()}
      </Avatar>
      <Box sx={{ flex: 1, minWidth: 0 }}>
        <Typography variant="body2">
          <RouterLink to={`/channel/${comment.author.username}`} style={{ fontWeight: 600, color: 'inherit' }}>
            {comment.author.displayName}
          </RouterLink>{' '}
          <Typography component="span" variant="caption" color="text.secondary">
            {timeAgo(comment.createdAt)}
            {comment.edited ? ' (edited)' : ''}
            {comment.held ? ' · held for review' : ''}
          </Typography>
        </Typography>
        <Typography variant="body2" sx={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
          {comment.body}
        </Typography>
        {!isReply && (
          <Stack direction="row" spacing={1} sx={{ mt: 0.5 }}>
            {signedIn && (
              <Button size="small" onClick={() => setReplying((r) => !r)}>
                Reply
              </Button>
            )}
            {comment.replyCount > 0 && (
              <Button size="small" onClick={() => setShowReplies((s) => !s)} aria-expanded={showReplies}>
                {showReplies ? 'Hide replies' : `${comment.replyCount} ${comment.replyCount === 1 ? 'reply' : 'replies'}`}
              </Button>
            )}
          </Stack>
        )}
        {replying && (
          <CommentForm
            videoId={videoId}
            parentId={comment.id}
            label={`Reply to ${comment.author.displayName}`}
            onDone={() => {
              setReplying(false);
              setShowReplies(true);
            }}
          />
        )}
        {showReplies && (
          <Box component="ul" sx={{ p: 0, mt: 1 }}>
            {replies.data?.pages
              .flatMap((p) => p.comments)
              .map((r) => (
                <CommentItem key={r.id} comment={r} videoId={videoId} signedIn={signedIn} />
              ))}
            {replies.isLoading && <CircularProgress size={20} aria-label="Loading replies" />}
            {replies.hasNextPage && (
              <Button size="small" onClick={() => replies.fetchNextPage()}>
                More replies
              </Button>
            )}
          </Box>
        )}
      </Box>
    </Box>
  );
}

/** CommentList shows a video's comments, newest first, with replies one level deep. */
export function CommentList({ videoId, signedIn, count }: CommentsProps) {
  const pages = useCommentPages(videoId);
  const comments = pages.data?.pages.flatMap((p) => p.comments) ?? [];
  return (
    <Box component="section" aria-labelledby="comments-heading">
      <Typography id="comments-heading" variant="h6" component="h2" sx={{ mb: 2 }}>
        {count !== undefined ? `${count} ${count === 1 ? 'comment' : 'comments'}` : 'Comments'}
      </Typography>
      {signedIn ? (
        <CommentForm videoId={videoId} label="Add a comment" />
      ) : (
        <Typography variant="body2" color="text.secondary" sx={{ mb: 2 }}>
          <RouterLink to="/login">Sign in</RouterLink> to comment.
        </Typography>
      )}
      {pages.isError && <Alert severity="error">{errorMessage(pages.error)}</Alert>}
      {pages.isLoading && <CircularProgress size={24} aria-label="Loading comments" />}
      {pages.isSuccess && comments.length === 0 && (
        <Typography variant="body2" color="text.secondary">
          No comments yet. Be the first.
        </Typography>
      )}
      <Box component="ul" sx={{ p: 0, m: 0 }}>
        {comments.map((c) => (
          <CommentItem key={c.id} comment={c} videoId={videoId} signedIn={signedIn} />
        ))}
      </Box>
      {pages.hasNextPage && (
        <Button onClick={() => pages.fetchNextPage()} disabled={pages.isFetchingNextPage}>
          More comments
        </Button>
      )}
    </Box>
  );
}
