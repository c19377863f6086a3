import { useState, type FormEvent } from 'react';
import { Alert, Avatar, Box, Button, CircularProgress, Stack, TextField, Typography } from '@mui/material';
import { useInfiniteQuery, useMutation, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, errorMessage, unwrap, type Comment } from '../api/client';
import { timeAgo } from '../format';
import { ConfirmDialog } from './ConfirmDialog';
import { ReportButton } from './Report';

/** Viewer is who reads the comments, for what they may do to them. */
export interface Viewer {
  username: string;
  moderator: boolean;
}

export interface CommentsProps {
  videoId: string;
  signedIn: boolean;
  count?: number;
  /** The signed-in reader: authors edit and delete their comments, moderators and the video's owner remove any. */
  viewer?: Viewer;
  /** The username of the video's owner. */
  videoOwner?: string;
}

interface ItemContext {
  videoId: string;
  signedIn: boolean;
  viewer?: Viewer;
  videoOwner?: string;
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

function EditForm({ comment, onDone }: { comment: Comment; onDone: () => void }) {
  const [body, setBody] = useState(comment.body);
  const qc = useQueryClient();
  const save = useMutation({
    mutationFn: async () => unwrap(await api.PATCH('/comments/{commentId}', { params: { path: { commentId: comment.id } }, body: { body } })),
    onSuccess: () => {
      qc.invalidateQueries({ queryKey: ['comments', comment.videoId] });
      onDone();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    if (body.trim()) save.mutate();
  };
  return (
    <Box component="form" onSubmit={submit} sx={{ my: 1 }}>
      <TextField
        label="Edit your comment"
        value={body}
        onChange={(e) => setBody(e.target.value)}
        fullWidth
        multiline
        size="small"
        autoFocus
        slotProps={{ htmlInput: { maxLength: 5000 } }}
      />
      {save.isError && (
        <Alert severity="error" sx={{ mt: 1 }}>
          {errorMessage(save.error)}
        </Alert>
      )}
      <Stack direction="row" spacing={1} sx={{ justifyContent: 'flex-end', mt: 1 }}>
        <Button size="small" onClick={onDone}>
          Cancel
        </Button>
        <Button type="submit" variant="contained" size="small" disabled={!body.trim() || body === comment.body || save.isPending}>
          Save
        </Button>
      </Stack>
    </Box>
  );
}

function DeleteCommentDialog({ comment, mine, onClose }: { comment: Comment; mine: boolean; onClose: () => void }) {
  const qc = useQueryClient();
  return (
    <ConfirmDialog
      title={mine ? 'Delete your comment?' : `Remove the comment by ${comment.author.displayName}?`}
      confirm={mine ? 'Delete' : 'Remove'}
      action={async () => unwrap(await api.DELETE('/comments/{commentId}', { params: { path: { commentId: comment.id } } }))}
      onDone={() => {
        qc.invalidateQueries({ queryKey: ['comments', comment.videoId] });
        qc.invalidateQueries({ queryKey: ['video', comment.videoId] });
      }}
      onClose={onClose}
    >
      {comment.parentId ? 'It is deleted for good.' : 'It is deleted for good, with its replies.'}
    </ConfirmDialog>
  );
}

function CommentItem({ comment, ctx }: { comment: Comment; ctx: ItemContext }) {
  const { videoId, signedIn, viewer, videoOwner } = ctx;
  const [showReplies, setShowReplies] = useState(false);
  const [replying, setReplying] = useState(false);
  const [editing, setEditing] = useState(false);
  const [deleting, setDeleting] = useState(false);
  const replies = useCommentPages(videoId, comment.id, showReplies);
  const isReply = !!comment.parentId;
  const mine = !!viewer && viewer.username === comment.author.username;
  const mayDelete = mine || !!viewer?.moderator || (!!viewer && viewer.username === videoOwner);
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
        {editing ? (
          <EditForm comment={comment} onDone={() => setEditing(false)} />
        ) : (
          <Typography variant="body2" sx={{ whiteSpace: 'pre-wrap', overflowWrap: 'anywhere' }}>
            {comment.body}
          </Typography>
        )}
        <Stack direction="row" spacing={1} sx={{ mt: 0.5, flexWrap: 'wrap' }} useFlexGap>
          {signedIn && !isReply && (
            <Button size="small" onClick={() => setReplying((r) => !r)}>
              Reply
            </Button>
          )}
          {!isReply && comment.replyCount > 0 && (
            <Button size="small" onClick={() => setShowReplies((s) => !s)} aria-expanded={showReplies}>
              {showReplies ? 'Hide replies' : `${comment.replyCount} ${comment.replyCount === 1 ? 'reply' : 'replies'}`}
            </Button>
          )}
          {mine && !editing && (
            <Button size="small" onClick={() => setEditing(true)} aria-label="Edit your comment">
              Edit
            </Button>
          )}
          {mayDelete && (
            <Button
              size="small"
              color="error"
              onClick={() => setDeleting(true)}
              aria-label={mine ? 'Delete your comment' : `Remove the comment by ${comment.author.displayName}`}
            >
              {mine ? 'Delete' : 'Remove'}
            </Button>
          )}
          {signedIn && !mine && (
            <ReportButton videoId={videoId} targetType="comment" targetId={comment.id} what={`the comment by ${comment.author.displayName}`} />
          )}
        </Stack>
        {deleting && <DeleteCommentDialog comment={comment} mine={mine} onClose={() => setDeleting(false)} />}
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
                <CommentItem key={r.id} comment={r} ctx={ctx} />
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
export function CommentList({ videoId, signedIn, count, viewer, videoOwner }: CommentsProps) {
  const pages = useCommentPages(videoId);
  const ctx: ItemContext = { videoId, signedIn, viewer, videoOwner };
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
          <CommentItem key={c.id} comment={c} ctx={ctx} />
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
