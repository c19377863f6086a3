import type { ReactNode } from 'react';
import { Alert, Button, Dialog, DialogActions, DialogContent, DialogContentText, DialogTitle } from '@mui/material';
import { useMutation } from '@tanstack/react-query';
import { errorMessage } from '../api/client';

export interface ConfirmDialogProps {
  title: string;
  /** What the action does, in a sentence or two. */
  children: ReactNode;
  /** The label of the (destructive) button that acts. */
  confirm: string;
  action: () => Promise<unknown>;
  /** onDone runs after the action succeeded, before the dialog closes. */
  onDone?: () => void;
  onClose: () => void;
}

/**
 * ConfirmDialog asks before a destructive action, runs it, and shows its error. Cancel has the
 * focus, so that Enter never destroys anything.
 */
export function ConfirmDialog({ title, children, confirm, action, onDone, onClose }: ConfirmDialogProps) {
  const act = useMutation({
    mutationFn: action,
    onSuccess: () => {
      onDone?.();
      onClose();
    },
  });
  return (
    <Dialog open onClose={onClose} aria-labelledby="confirm-title">
      <DialogTitle id="confirm-title">{title}</DialogTitle>
      <DialogContent>
        <DialogContentText>{children}</DialogContentText>
        {act.isError && <Alert severity="error">{errorMessage(act.error)}</Alert>}
      </DialogContent>
      <DialogActions>
        <Button onClick={onClose} autoFocus>
          Cancel
        </Button>
        <Button color="error" variant="contained" onClick={() => act.mutate()} disabled={act.isPending}>
          {confirm}
        </Button>
      </DialogActions>
    </Dialog>
  );
}
