import { useState, type FormEvent } from 'react';
import { Alert, Box, Button, Divider, Paper, Tab, Tabs, TextField, Typography } from '@mui/material';
import GitHubIcon from '@mui/icons-material/GitHub';
import { useMutation, useQuery } from '@tanstack/react-query';
import { useSearchParams } from 'react-router-dom';
import { api, errorMessage, unwrap } from '../api/client';
import { Redirect, useAuth } from '../auth';

export function githubLoginURL(returnTo: string): string {
  return `/api/v1/auth/github/login?returnTo=${encodeURIComponent(returnTo)}`;
}

export default function Login() {
  const [params] = useSearchParams();
  const returnTo = params.get('returnTo') || '/';
  const [mode, setMode] = useState<'login' | 'register'>(params.get('mode') === 'register' ? 'register' : 'login');
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [displayName, setDisplayName] = useState('');
  const { token, signIn } = useAuth();
  // The GitHub button appears once the server says it is configured: a dead button is worse than none.
  const providers = useQuery({
    queryKey: ['auth-providers'],
    queryFn: async () => unwrap(await api.GET('/auth/providers')),
    staleTime: Infinity,
  });
  const submit = useMutation({
    mutationFn: async () =>
      mode === 'login'
        ? unwrap(await api.POST('/auth/login', { body: { username, password } }))
        : unwrap(await api.POST('/auth/register', { body: { username, password, displayName: displayName || undefined } })),
    onSuccess: (s) => signIn(s),
  });
  if (token) return <Redirect to={returnTo.startsWith('/') ? returnTo : '/'} />;
  const onSubmit = (e: FormEvent) => {
    e.preventDefault();
    submit.mutate();
  };
  return (
    <Paper variant="outlined" sx={{ maxWidth: 420, mx: 'auto', p: { xs: 2, sm: 4 } }}>
      <Typography variant="h5" component="h1" sx={{ mb: 2 }}>
        {mode === 'login' ? 'Sign in' : 'Create an account'}
      </Typography>
      <Tabs value={mode} onChange={(_e, v) => setMode(v)} sx={{ mb: 2 }} aria-label="Sign in or register">
        <Tab value="login" label="Sign in" />
        <Tab value="register" label="Register" />
      </Tabs>
      <Box component="form" onSubmit={onSubmit} noValidate>
        <TextField
          label="Username"
          value={username}
          onChange={(e) => setUsername(e.target.value.toLowerCase())}
          fullWidth
          margin="normal"
          autoComplete="username"
          required
          helperText={mode === 'register' ? '3–30 characters: lower-case letters, digits, _ and -' : undefined}
          error={!!submit.error && (submit.error as { fields?: Record<string, string> }).fields?.username !== undefined}
        />
        {mode === 'register' && (
          <TextField label="Display name" value={displayName} onChange={(e) => setDisplayName(e.target.value)} fullWidth margin="normal" autoComplete="name" />
        )}
        <TextField
          label="Password"
          type="password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          fullWidth
          margin="normal"
          autoComplete={mode === 'login' ? 'current-password' : 'new-password'}
          required
          helperText={mode === 'register' ? 'At least 10 characters' : undefined}
        />
        {submit.isError && (
          <Alert severity="error" sx={{ mt: 1 }} role="alert">
            {errorMessage(submit.error)}
          </Alert>
        )}
        <Button type="submit" variant="contained" fullWidth sx={{ mt: 2 }} disabled={submit.isPending || !username || !password}>
          {mode === 'login' ? 'Sign in' : 'Create account'}
        </Button>
      </Box>
      {providers.data?.github && (
        <>
          <Divider sx={{ my: 3 }}>or</Divider>
          <Button href={githubLoginURL(returnTo)} variant="outlined" fullWidth startIcon={<GitHubIcon />}>
            Sign in with GitHub
          </Button>
        </>
      )}
    </Paper>
  );
}
