import { Alert, Box, Button, Chip, CircularProgress, Dialog, DialogActions, DialogContent, DialogTitle, List, ListItem, ListItemText } from '@mui/material';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, unwrap } from '../api/client';
import type { components } from '../api/schema';

type DeviceSession = components['schemas']['DeviceSession'];

const sessionsKey = ['me', 'sessions'];

function when(iso: string): string {
  return new Date(iso).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/**
 * SessionsDialog lists the devices the signed-in user is signed in on, this one labelled, and
 * signs any other one out: the server ends that session, so its next request or refresh fails.
 * This device signs out from the account menu, which also forgets it here.
 */
export function SessionsDialog({ open, onClose }: { open: boolean; onClose: () => void }) {
  const queryClient = useQueryClient();
  const sessions = useQuery({
    queryKey: sessionsKey,
    queryFn: async () => unwrap(await api.GET('/me/sessions')).items,
    enabled: open,
    staleTime: 0,
  });
  const end = useMutation({
    mutationFn: async (id: string) => unwrap(await api.DELETE('/me/sessions/{sessionId}', { params: { path: { sessionId: id } } })),
    onSettled: () => queryClient.invalidateQueries({ queryKey: sessionsKey }),
  });
  return (
    <Dialog open={open} onClose={onClose} aria-labelledby="sessions-title" fullWidth maxWidth="sm">
      <DialogTitle id="sessions-title">Signed-in devices</DialogTitle>
      <DialogContent>
        {sessions.isPending && (
          <Box sx={{ display: 'grid', placeItems: 'center', py: 2 }}>
            <CircularProgress aria-label="Loading devices" />
          </Box>
        )}
        {sessions.isError && (
          <Alert severity="error" role="alert">
            {errorMessage(sessions.error)}
          </Alert>
        )}
        {end.isError && (
          <Alert severity="error" role="alert" sx={{ mb: 1 }}>
            {errorMessage(end.error)}
          </Alert>
        )}
        {sessions.data && (
          <List aria-label="Signed-in devices">
            {sessions.data.map((s) => (
              <Device key={s.id} session={s} ending={end.isPending && end.variables === s.id} onSignOut={() => end.mutate(s.id)} />
            ))}
          </List>
        )}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose}>Close</Button>
      </DialogActions>
    </Dialog>
  );
}

function Device({ session, ending, onSignOut }: { session: DeviceSession; ending: boolean; onSignOut: () => void }) {
  const where = session.network ? ` from ${session.network}` : '';
  return (
    <ListItem
      divider
      title={session.userAgent}
      secondaryAction={
        session.current ? (
          <Chip label="This device" color="primary" size="small" />
        ) : (
          <Button onClick={onSignOut} disabled={ending} aria-label={`Sign out ${session.device}, last used ${when(session.lastUsedAt)}`}>
            Sign out
          </Button>
        )
      }
    >
      <ListItemText primary={session.device} secondary={`Last used ${when(session.lastUsedAt)}${where} · signed in ${when(session.createdAt)}`} />
    </ListItem>
  );
}
