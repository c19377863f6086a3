import { useEffect, useRef, useState } from 'react';
import { Alert, Avatar, Box, Button, CircularProgress, LinearProgress, Paper, Stack, ToggleButton, Typography } from '@mui/material';
import ThumbUp from '@mui/icons-material/ThumbUpOutlined';
import ThumbDown from '@mui/icons-material/ThumbDownOutlined';
import PlayArrow from '@mui/icons-material/PlayArrow';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink, useNavigate, useParams } from 'react-router-dom';
import { api, errorMessage, HttpError, unwrap, type Video } from '../api/client';
import { useAuth } from '../auth';
import { CommentList } from '../components/Comments';
import { Player } from '../components/Player';
import { ReportButton } from '../components/Report';
import { formatCount, formatDuration, timeAgo } from '../format';
import { usePositionReports } from '../history/usePositionReports';
import { useVideoEvents } from '../upload/useVideoEvents';
import NotFound from './NotFound';

function SubscribeButton({ username }: { username: string }) {
  const { token, user } = useAuth();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const channel = useQuery({
    queryKey: ['channel', username],
    queryFn: async () => unwrap(await api.GET('/users/{username}', { params: { path: { username } } })),
  });
  const toggle = useMutation({
    mutationFn: async (subscribe: boolean) =>
      unwrap(
        subscribe
          ? await api.PUT('/users/{username}/subscription', { params: { path: { username } } })
          : await api.DELETE('/users/{username}/subscription', { params: { path: { username } } }),
      ),
    onSuccess: (s) => {
      qc.setQueryData(['channel', username], (c: typeof channel.data) => c && { ...c, subscribed: s.subscribed, subscriberCount: s.subscriberCount });
      qc.invalidateQueries({ queryKey: ['feed'] });
    },
  });
  if (user?.username === username) return null;
  const subscribed = channel.data?.subscribed ?? false;
  return (
    <Stack sx={{ alignItems: 'center' }} direction="row" spacing={1}>
      <Button
        variant={subscribed ? 'outlined' : 'contained'}
        onClick={() => (token ? toggle.mutate(!subscribed) : navigate(`/login?returnTo=${encodeURIComponent(location.pathname)}`))}
        disabled={toggle.isPending}
        aria-pressed={subscribed}
      >
        {subscribed ? 'Subscribed' : 'Subscribe'}
      </Button>
      {toggle.isError && (
        <Typography color="error" variant="body2">
          {errorMessage(toggle.error)}
        </Typography>
      )}
    </Stack>
  );
}

function Ratings({ video }: { video: Video }) {
  const { token } = useAuth();
  const navigate = useNavigate();
  const qc = useQueryClient();
  const rate = useMutation({
    mutationFn: async (rating: 'like' | 'dislike' | 'none') =>
      unwrap(await api.PUT('/videos/{videoId}/rating', { params: { path: { videoId: video.id } }, body: { rating } })),
    onSuccess: (r) =>
      qc.setQueryData(
        ['video', video.id],
        (v: Video | undefined) => v && { ...v, myRating: r.myRating, stats: { ...v.stats, likes: r.likes, dislikes: r.dislikes } },
      ),
  });
  const mine = video.myRating ?? 'none';
  const click = (r: 'like' | 'dislike') => {
    if (!token) return navigate(`/login?returnTo=${encodeURIComponent(location.pathname)}`);
    rate.mutate(mine === r ? 'none' : r);
  };
  return (
    <Stack sx={{ alignItems: 'center' }} direction="row" spacing={1}>
      <ToggleButton
        value="like"
        size="small"
        selected={mine === 'like'}
        onChange={() => click('like')}
        aria-label={`Like: ${video.stats.likes}`}
        disabled={rate.isPending}
      >
        <ThumbUp fontSize="small" sx={{ mr: 0.5 }} />
        <span data-testid="likes">{video.stats.likes}</span>
      </ToggleButton>
      <ToggleButton
        value="dislike"
        size="small"
        selected={mine === 'dislike'}
        onChange={() => click('dislike')}
        aria-label={`Dislike: ${video.stats.dislikes}`}
        disabled={rate.isPending}
      >
        <ThumbDown fontSize="small" sx={{ mr: 0.5 }} />
        {video.stats.dislikes}
      </ToggleButton>
      {rate.isError && (
        <Typography color="error" variant="body2">
          {errorMessage(rate.error)}
        </Typography>
      )}
    </Stack>
  );
}

/** resumeWorthy says whether a saved position is worth offering: not the first seconds, not the very end. */
export function resumeWorthy(position: number, duration?: number): boolean {
  return position >= 3 && (duration === undefined || position < duration - 3);
}

function useResumePosition(videoId: string, signedIn: boolean) {
  return useQuery({
    queryKey: ['history-position', videoId],
    enabled: signedIn,
    // Read once per visit: the position changes as the viewer watches.
    staleTime: 0,
    gcTime: 0,
    queryFn: async () => {
      const r = await api.GET('/me/history/{videoId}', { params: { path: { videoId } } });
      if (r.response.status === 204) return null; // never watched: nothing to resume
      return unwrap(r).positionSeconds;
    },
  });
}

function ResumeButton({ position, media, onDone }: { position: number; media: HTMLVideoElement | null; onDone: () => void }) {
  return (
    <Button
      variant="contained"
      startIcon={<PlayArrow />}
      disabled={!media}
      sx={{ mt: 1 }}
      onClick={() => {
        if (!media) return;
        media.currentTime = position;
        void media.play().catch(() => {});
        onDone();
      }}
    >
      Resume at {formatDuration(position)}
    </Button>
  );
}

export default function Watch() {
  const { videoId = '' } = useParams();
  const { token, user } = useAuth();
  const qc = useQueryClient();
  // The content warning confirmed, for this video only: another video's confirmation never
  // carries over, not even for the render before an effect could reset it.
  const [confirmedId, setConfirmedId] = useState<string>();
  const confirmed = confirmedId === videoId;
  const [media, setMedia] = useState<HTMLVideoElement | null>(null);
  const [resumed, setResumed] = useState(false);
  const viewed = useRef(false);
  const resume = useResumePosition(videoId, !!token);
  usePositionReports(videoId, media, !!token);
  const video = useQuery({
    queryKey: ['video', videoId],
    queryFn: async () => unwrap(await api.GET('/videos/{videoId}', { params: { path: { videoId } } })),
    retry: (n, e) => !(e instanceof HttpError && e.status === 404) && n < 2,
  });
  const events = useVideoEvents(video.data ? videoId : undefined, token);
  const ev = events.last;
  // Live counts and progress: merge into the cached video; reload it when it becomes playable or changes status.
  useEffect(() => {
    if (!ev) return;
    if (ev.counts) qc.setQueryData(['video', videoId], (v: Video | undefined) => v && { ...v, stats: ev.counts! });
    const v = qc.getQueryData<Video>(['video', videoId]);
    if (v && (v.status !== ev.status || (ev.playable && !v.playback))) qc.invalidateQueries({ queryKey: ['video', videoId] });
  }, [ev, qc, videoId]);
  useEffect(() => {
    viewed.current = false;
    setResumed(false);
  }, [videoId]);

  if (video.isLoading)
    return (
      <Box sx={{ display: 'grid', placeItems: 'center', py: 8 }}>
        <CircularProgress aria-label="Loading video" />
      </Box>
    );
  if (video.error instanceof HttpError && video.error.status === 404) return <NotFound what="video" />;
  if (video.isError) return <Alert severity="error">{errorMessage(video.error)}</Alert>;
  const v = video.data!;
  const warnings = v.contentWarnings ?? [];
  const recordView = () => {
    if (viewed.current) return;
    viewed.current = true;
    api.POST('/videos/{videoId}/views', { params: { path: { videoId } }, body: {} }).catch(() => {});
  };

  let stage: React.ReactNode;
  if (v.status === 'failed') {
    stage = (
      <Alert severity="error" role="alert">
        Transcoding failed: {v.failureReason || 'no reason was given'}.
      </Alert>
    );
  } else if (v.status === 'removed') {
    stage = <Alert severity="warning">This video was removed by a moderator{v.moderation?.reason ? `: ${v.moderation.reason}` : ''}.</Alert>;
  } else if (!v.playback) {
    const pct = ev?.progress.overall ?? 0;
    stage = (
      <Paper variant="outlined" sx={{ aspectRatio: '16 / 9', display: 'grid', placeItems: 'center', p: 3 }}>
        <Box sx={{ width: '80%', textAlign: 'center' }}>
          <Typography sx={{ mb: 1 }}>{v.status === 'uploading' ? 'Waiting for the upload to finish…' : `Processing… ${pct.toFixed(0)}%`}</Typography>
          <LinearProgress variant={pct > 0 ? 'determinate' : 'indeterminate'} value={pct} aria-label="Transcoding progress" />
        </Box>
      </Paper>
    );
  } else if (warnings.length > 0 && !confirmed) {
    stage = (
      <Paper
        variant="outlined"
        sx={{ aspectRatio: '16 / 9', display: 'grid', placeItems: 'center', p: 3, bgcolor: 'grey.900', color: 'common.white' }}
        role="alertdialog"
        aria-labelledby="cw-title"
      >
        <Box sx={{ textAlign: 'center', maxWidth: 480 }}>
          <Typography id="cw-title" variant="h6" component="h2" sx={{ mb: 1 }}>
            Content warning
          </Typography>
          <Typography sx={{ mb: 2 }}>This video may contain: {warnings.join(', ')}. Viewer discretion is advised.</Typography>
          <Button variant="contained" onClick={() => setConfirmedId(videoId)} autoFocus>
            I understand, play the video
          </Button>
        </Box>
      </Paper>
    );
  } else {
    const position = resume.data;
    stage = (
      <>
        <Player video={v} onPlay={recordView} onMedia={setMedia} />
        {position != null && !resumed && resumeWorthy(position, v.durationSeconds) && (
          <ResumeButton position={position} media={media} onDone={() => setResumed(true)} />
        )}
      </>
    );
  }

  return (
    <Box sx={{ maxWidth: 1100, mx: 'auto' }}>
      {stage}
      <Typography variant="h5" component="h1" sx={{ mt: 2, fontWeight: 600, overflowWrap: 'anywhere' }}>
        {v.title}
      </Typography>
      {v.moderation && v.moderation.state !== 'ok' && (
        <Alert severity="warning" sx={{ mt: 1 }}>
          Moderation: {v.moderation.state}
          {v.moderation.reason ? ` (${v.moderation.reason})` : ''}. Only you and moderators see this.
        </Alert>
      )}
      <Stack
        direction={{ xs: 'column', sm: 'row' }}
        spacing={2}
        sx={{ alignItems: { xs: 'flex-start', sm: 'center' }, justifyContent: 'space-between', my: 2 }}
      >
        <Stack sx={{ alignItems: 'center' }} direction="row" spacing={1.5}>
          <Avatar src={v.owner.avatarUrl} alt="">
            {v.owner.displayName.slice(0, 1).toUpperCase()}
          </Avatar>
          <Box>
            <Typography component={RouterLink} to={`/channel/${v.owner.username}`} sx={{ fontWeight: 600, color: 'inherit', textDecoration: 'none' }}>
              {v.owner.displayName}
            </Typography>
            <Typography variant="body2" color="text.secondary">
              @{v.owner.username}
            </Typography>
          </Box>
          <SubscribeButton username={v.owner.username} />
        </Stack>
        <Stack direction="row" spacing={1} sx={{ alignItems: 'center' }}>
          <Ratings video={v} />
          {token && user && user.username !== v.owner.username && <ReportButton videoId={v.id} targetType="video" targetId={v.id} what="this video" />}
        </Stack>
      </Stack>
      <Paper variant="outlined" sx={{ p: 2, mb: 3 }}>
        <Typography variant="body2" sx={{ fontWeight: 600 }}>
          <span data-testid="views">{formatCount(v.stats.views, 'view')}</span> · {timeAgo(v.publishedAt ?? v.createdAt)}
          {v.tags.length > 0 && ` · ${v.tags.map((t) => `#${t}`).join(' ')}`}
        </Typography>
        <Typography variant="body2" sx={{ whiteSpace: 'pre-wrap', mt: 1, overflowWrap: 'anywhere' }}>
          {v.description || 'No description.'}
        </Typography>
      </Paper>
      <CommentList
        videoId={v.id}
        signedIn={!!token}
        count={v.stats.comments}
        viewer={user && { username: user.username, moderator: user.role !== 'user' }}
        videoOwner={v.owner.username}
      />
    </Box>
  );
}
