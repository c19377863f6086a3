import { useState, type FormEvent } from 'react';
import { Alert, Button, Dialog, DialogActions, DialogContent, DialogTitle, TextField } from '@mui/material';
import { useMutation } from '@tanstack/react-query';
import { api, errorMessage, unwrap } from '../api/client';

/**
 * ChangePasswordDialog changes the signed-in user's password. The server ends every other
 * session of the account, so the dialog says so; this browser stays signed in.
 */
export function ChangePasswordDialog({ open, onClose, onDone }: { open: boolean; onClose: () => void; onDone: () => void }) {
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const change = useMutation({
    mutationFn: async () => unwrap(await api.PUT('/me/password', { body: { current, new: next } })),
    onSuccess: () => {
      setCurrent('');
      setNext('');
      onDone();
    },
  });
  const submit = (e: FormEvent) => {
    e.preventDefault();
    change.mutate();
  };
  return (
    <Dialog open={open} onClose={onClose} aria-labelledby="change-password-title">
      <form onSubmit={submit} noValidate>
        <DialogTitle id="change-password-title">Change password</DialogTitle>
        <DialogContent>
          <TextField
            label="Current password"
            type="password"
            value={current}
            onChange={(e) => setCurrent(e.target.value)}
            fullWidth
            margin="normal"
            autoComplete="current-password"
            required
          />
          <TextField
            label="New password"
            type="password"
            value={next}
            onChange={(e) => setNext(e.target.value)}
            fullWidth
            margin="normal"
            autoComplete="new-password"
            required
            helperText="At least 10 characters. Your other devices will be signed out."
          />
          {change.isError && (
            <Alert severity="error" role="alert" sx={{ mt: 1 }}>
              {errorMessage(change.error)}
            </Alert>
          )}
        </DialogContent>
        <DialogActions>
          <Button onClick={onClose}>Cancel</Button>
          <Button type="submit" variant="contained" disabled={change.isPending || !current || !next}>
            Change password
          </Button>
        </DialogActions>
      </form>
    </Dialog>
  );
}
