import { useState } from 'react';
import {
  Alert,
  Button,
  Dialog,
  DialogActions,
  DialogContent,
  DialogContentText,
  DialogTitle,
  FormControl,
  FormControlLabel,
  FormLabel,
  Radio,
  RadioGroup,
  TextField,
  Tooltip,
} from '@mui/material';
import FlagIcon from '@mui/icons-material/OutlinedFlag';
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage } from '../api/client';
import { unwrapLimited } from '../api/limits';
import type { components } from '../api/schema';

type Report = components['schemas']['Report'];

export type ReportTarget = 'video' | 'comment';
type Reason = 'spam' | 'harassment' | 'hate' | 'violence' | 'sexual' | 'copyright' | 'misleading' | 'other';

export const reasons: [Reason, string][] = [
  ['spam', 'Spam or scam'],
  ['harassment', 'Harassment or bullying'],
  ['hate', 'Hateful content'],
  ['violence', 'Violence or dangerous acts'],
  ['sexual', 'Sexual content'],
  ['copyright', 'Infringes my copyright'],
  ['misleading', 'Misleading'],
  ['other', 'Something else'],
];

const key = (type: string, id: string) => `${type}:${id}`;

/**
 * useMyReports is what the caller reported on a video and its comments, as "type:id" keys; one
 * request serves the watch page's video and every comment on it.
 */
export function useMyReports(videoId: string, signedIn: boolean) {
  return useQuery({
    queryKey: ['my-reports', videoId],
    enabled: signedIn,
    queryFn: async () => {
      const r = unwrapLimited(await api.GET('/me/reports', { params: { query: { videoId } } }));
      return new Set(r.reports.map((rp) => key(rp.targetType, rp.targetId)));
    },
    staleTime: Infinity,
  });
}

export interface ReportButtonProps {
  videoId: string;
  targetType: ReportTarget;
  targetId: string;
  /** What is reported, for the dialog and the accessible name: "this video", "Bob's comment". */
  what: string;
  size?: 'small' | 'medium';
}

/** ReportButton offers to report a video or comment, or says that the caller already did. */
export function ReportButton({ videoId, targetType, targetId, what, size = 'small' }: ReportButtonProps) {
  const [open, setOpen] = useState(false);
  const mine = useMyReports(videoId, true);
  if (mine.data?.has(key(targetType, targetId))) {
    return (
      <Tooltip title="Moderators will review it">
        <span>
          <Button size={size} startIcon={<FlagIcon />} disabled>
            You reported this
          </Button>
        </span>
      </Tooltip>
    );
  }
  return (
    <>
      <Button size={size} startIcon={<FlagIcon />} onClick={() => setOpen(true)} aria-label={`Report ${what}`}>
        Report
      </Button>
      {open && <ReportDialog videoId={videoId} targetType={targetType} targetId={targetId} what={what} onClose={() => setOpen(false)} />}
    </>
  );
}

function ReportDialog({ videoId, targetType, targetId, what, onClose }: ReportButtonProps & { onClose: () => void }) {
  const [reason, setReason] = useState<Reason | ''>('');
  const [note, setNote] = useState('');
  const qc = useQueryClient();
  const send = useMutation({
    mutationFn: async (): Promise<Report> =>
      unwrapLimited(await api.POST('/reports', { body: { targetType, targetId, reason: reason as Reason, note: note.trim() || undefined } })),
  });
  // The "reported" state is set when the dialog closes, so the confirmation stays in view until then.
  const close = () => {
    if (send.isSuccess) qc.setQueryData(['my-reports', videoId], (s: Set<string> | undefined) => new Set([...(s ?? []), key(targetType, targetId)]));
    onClose();
  };
  return (
    <Dialog open onClose={close} fullWidth maxWidth="xs" aria-labelledby="report-title">
      <DialogTitle id="report-title">Report {what}</DialogTitle>
      <DialogContent>
        {send.isSuccess ? (
          <Alert severity="success">Thank you. Your report was sent to the moderators, who will review {what}.</Alert>
        ) : (
          <>
            <FormControl>
              <FormLabel id="report-reason">What is wrong with it?</FormLabel>
              <RadioGroup aria-labelledby="report-reason" value={reason} onChange={(e) => setReason(e.target.value as Reason)}>
                {reasons.map(([value, label]) => (
                  <FormControlLabel key={value} value={value} control={<Radio size="small" />} label={label} />
                ))}
              </RadioGroup>
            </FormControl>
            <TextField
              label="Details (optional)"
              value={note}
              onChange={(e) => setNote(e.target.value)}
              fullWidth
              multiline
              minRows={2}
              margin="normal"
              slotProps={{ htmlInput: { maxLength: 1000 } }}
            />
            <DialogContentText variant="body2">Reports are anonymous to the person you report.</DialogContentText>
            {send.isError && (
              <Alert severity="error" sx={{ mt: 1 }}>
                {errorMessage(send.error)}
              </Alert>
            )}
          </>
        )}
      </DialogContent>
      <DialogActions>
        {send.isSuccess ? (
          <Button onClick={close} autoFocus>
            Close
          </Button>
        ) : (
          <>
            <Button onClick={close}>Cancel</Button>
            <Button variant="contained" onClick={() => send.mutate()} disabled={!reason || send.isPending}>
              Send report
            </Button>
          </>
        )}
      </DialogActions>
    </Dialog>
  );
}
