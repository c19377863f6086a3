import { useEffect, useRef, useState, type FormEvent } from 'react';
import { Alert, Avatar, Box, Button, CircularProgress, Paper, Slider, Stack, TextField, Typography } from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, errorMessage, unwrap, type User } from '../api/client';
import { Redirect, useAuth } from '../auth';
import { centred, cropToSquare, drawCrop, loadImage, type Crop } from '../lib/crop';
import { putErrorMessage } from '../upload/uploader';

const pictureTypes = ['image/jpeg', 'image/png', 'image/webp'];

/** uploadAvatar sends a square picture through the API's presigned flow: ask for a URL, PUT the bytes, complete. */
export async function uploadAvatar(picture: Blob): Promise<User> {
  const contentType = picture.type as 'image/png';
  const up = unwrap(await api.POST('/me/avatar', { body: { contentType, size: picture.size } }));
  const put = await fetch(up.url, { method: 'PUT', body: picture, headers: { 'Content-Type': contentType } });
  if (!put.ok) throw new Error(putErrorMessage(put.status, await put.text()));
  return unwrap(await api.POST('/me/avatar/complete', { body: { uploadId: up.uploadId } }));
}

/** AvatarEditor crops a chosen picture to a square with a live preview, and uploads it. */
function AvatarEditor({ user, onSaved }: { user: User; onSaved: () => void }) {
  const [image, setImage] = useState<HTMLImageElement | null>(null);
  const [crop, setCrop] = useState<Crop>(centred);
  const [error, setError] = useState('');
  const canvas = useRef<HTMLCanvasElement>(null);
  const input = useRef<HTMLInputElement>(null);
  useEffect(() => {
    if (image && canvas.current) drawCrop(canvas.current, image, crop);
  }, [image, crop]);
  const save = useMutation({
    mutationFn: async () => uploadAvatar(await cropToSquare(image!, crop)),
    onSuccess: () => {
      setImage(null);
      onSaved();
    },
  });
  const choose = async (file: File | undefined) => {
    if (!file) return;
    setError('');
    if (!pictureTypes.includes(file.type)) return setError(`${file.name} is not a JPEG, PNG or WebP picture.`);
    try {
      setImage(await loadImage(file));
      setCrop(centred);
    } catch (err) {
      setError(errorMessage(err));
    }
  };
  const slider = (label: string, key: keyof Crop, min: number, max: number, step: number) => (
    <Box>
      <Typography id={`crop-${key}`} variant="body2">
        {label}
      </Typography>
      <Slider
        aria-labelledby={`crop-${key}`}
        min={min}
        max={max}
        step={step}
        value={crop[key]}
        onChange={(_e, v) => setCrop((c) => ({ ...c, [key]: v as number }))}
      />
    </Box>
  );
  return (
    <Paper variant="outlined" component="section" aria-labelledby="picture-heading" sx={{ p: { xs: 2, sm: 3 }, mb: 3 }}>
      <Typography id="picture-heading" variant="h6" component="h2" sx={{ mb: 2 }}>
        Picture
      </Typography>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={3} sx={{ alignItems: { sm: 'flex-start' } }}>
        {image ? (
          <canvas
            ref={canvas}
            width={192}
            height={192}
            aria-label="Preview of your new picture"
            role="img"
            style={{ borderRadius: '50%', width: 192, height: 192 }}
          />
        ) : (
          <Avatar src={user.avatarUrl} alt="Your current picture" sx={{ width: 96, height: 96, fontSize: 40 }}>
            {user.displayName.slice(0, 1).toUpperCase()}
          </Avatar>
        )}
        <Box sx={{ flex: 1, minWidth: 200 }}>
          {image && (
            <>
              {slider('Zoom', 'zoom', 1, 4, 0.05)}
              {slider('Left to right', 'x', 0, 1, 0.01)}
              {slider('Top to bottom', 'y', 0, 1, 0.01)}
            </>
          )}
          <input ref={input} type="file" accept={pictureTypes.join(',')} hidden data-testid="avatar-input" onChange={(e) => void choose(e.target.files?.[0])} />
          <Stack direction="row" spacing={1} sx={{ mt: 1 }}>
            <Button variant={image ? 'outlined' : 'contained'} onClick={() => input.current?.click()}>
              {image ? 'Choose another picture' : 'Choose a picture'}
            </Button>
            {image && (
              <Button variant="contained" onClick={() => save.mutate()} disabled={save.isPending}>
                Save picture
              </Button>
            )}
          </Stack>
          {save.isPending && <CircularProgress size={20} aria-label="Uploading your picture" sx={{ mt: 1 }} />}
          {(error || save.isError) && (
            <Alert severity="error" sx={{ mt: 1 }}>
              {error || errorMessage(save.error)}
            </Alert>
          )}
          {save.isSuccess && !image && (
            <Alert severity="success" sx={{ mt: 1 }}>
              Your new picture is on your channel.
            </Alert>
          )}
        </Box>
      </Stack>
    </Paper>
  );
}

function DetailsForm({ user, bio, onSaved }: { user: User; bio: string; onSaved: () => void }) {
  const [displayName, setDisplayName] = useState(user.displayName);
  const [text, setText] = useState(bio);
  const save = useMutation({
    mutationFn: async () => unwrap(await api.PATCH('/me', { body: { displayName: displayName.trim(), bio: text.trim() } })),
    onSuccess: onSaved,
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    save.mutate();
  };
  return (
    <Paper variant="outlined" component="form" onSubmit={submit} aria-labelledby="details-heading" sx={{ p: { xs: 2, sm: 3 } }}>
      <Typography id="details-heading" variant="h6" component="h2">
        Name and bio
      </Typography>
      <TextField
        label="Display name"
        value={displayName}
        onChange={(e) => setDisplayName(e.target.value)}
        fullWidth
        margin="normal"
        required
        slotProps={{ htmlInput: { maxLength: 60 } }}
      />
      <TextField
        label="Bio"
        value={text}
        onChange={(e) => setText(e.target.value)}
        fullWidth
        margin="normal"
        multiline
        minRows={3}
        helperText={`${text.length} / 1000: shown on your channel page`}
        slotProps={{ htmlInput: { maxLength: 1000 } }}
      />
      {save.isError && <Alert severity="error">{errorMessage(save.error)}</Alert>}
      {save.isSuccess && <Alert severity="success">Saved.</Alert>}
      <Button type="submit" variant="contained" sx={{ mt: 2 }} disabled={!displayName.trim() || save.isPending}>
        Save
      </Button>
    </Paper>
  );
}

/** Profile edits the signed-in user's display name, bio and picture. */
export default function Profile() {
  const { token, user } = useAuth();
  const qc = useQueryClient();
  const channel = useQuery({
    queryKey: ['channel', user?.username ?? ''],
    enabled: !!user,
    queryFn: async () => unwrap(await api.GET('/users/{username}', { params: { path: { username: user!.username } } })),
  });
  if (!token) return <Redirect to="/login?returnTo=/settings/profile" />;
  if (!user || channel.isLoading) return <CircularProgress aria-label="Loading your profile" />;
  if (channel.isError) return <Alert severity="error">{errorMessage(channel.error)}</Alert>;
  // Everything that shows the user: the header's menu, the channel page, their comments and videos.
  const refresh = () => {
    qc.invalidateQueries({ queryKey: ['me'] });
    qc.invalidateQueries({ queryKey: ['channel', user.username] });
    qc.invalidateQueries({ queryKey: ['comments'] });
    qc.invalidateQueries({ queryKey: ['video'] });
  };
  return (
    <Box sx={{ maxWidth: 720, mx: 'auto' }}>
      <Stack direction="row" sx={{ alignItems: 'center', justifyContent: 'space-between', mb: 2 }}>
        <Typography variant="h5" component="h1">
          Your profile
        </Typography>
        <Button component={RouterLink} to={`/channel/${user.username}`}>
          View your channel
        </Button>
      </Stack>
      <AvatarEditor user={user} onSaved={refresh} />
      <DetailsForm user={user} bio={channel.data?.bio ?? ''} onSaved={refresh} />
    </Box>
  );
}
