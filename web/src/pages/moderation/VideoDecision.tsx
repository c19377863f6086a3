import { useState } from 'react';
import { Alert, Button, Stack, TextField } from '@mui/material';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { api, errorMessage, unwrap } from '../../api/client';
import { moderationKey } from './shared';

type Action = 'hold' | 'approve' | 'remove' | 'restrict';

/**
 * VideoDecision is a moderator's decision on a video: a held one is approved, restricted or
 * removed; one that is only reported can also be held for review, and approving it dismisses
 * its reports.
 */
export function VideoDecision({ videoId, held }: { videoId: string; held: boolean }) {
  const [labels, setLabels] = useState('');
  const [note, setNote] = useState('');
  const qc = useQueryClient();
  const decide = useMutation({
    mutationFn: async (action: Action) =>
      unwrap(
        await api.POST('/moderation/videos/{videoId}/decision', {
          params: { path: { videoId } },
          body: {
            action,
            note: note || undefined,
            labels:
              action === 'restrict'
                ? labels
                    .split(',')
                    .map((l) => l.trim())
                    .filter(Boolean)
                : undefined,
          },
        }),
      ),
    onSuccess: () => qc.invalidateQueries({ queryKey: [moderationKey] }),
  });
  return (
    <Stack spacing={1} sx={{ mt: 1 }}>
      <Stack direction={{ xs: 'column', sm: 'row' }} spacing={1}>
        <TextField
          size="small"
          label="Content warnings (comma-separated, for restrict)"
          value={labels}
          onChange={(e) => setLabels(e.target.value)}
          sx={{ flex: 1 }}
        />
        <TextField size="small" label="Note" value={note} onChange={(e) => setNote(e.target.value)} sx={{ flex: 1 }} />
      </Stack>
      <Stack direction="row" spacing={1} useFlexGap sx={{ flexWrap: 'wrap' }}>
        {!held && (
          <Button variant="outlined" onClick={() => decide.mutate('hold')} disabled={decide.isPending}>
            Hold for review
          </Button>
        )}
        <Button variant="contained" color="success" onClick={() => decide.mutate('approve')} disabled={decide.isPending}>
          {held ? 'Approve' : 'Dismiss reports'}
        </Button>
        <Button variant="outlined" onClick={() => decide.mutate('restrict')} disabled={decide.isPending || !labels.trim()}>
          Restrict
        </Button>
        <Button variant="contained" color="error" onClick={() => decide.mutate('remove')} disabled={decide.isPending}>
          Remove
        </Button>
      </Stack>
      {decide.isError && <Alert severity="error">{errorMessage(decide.error)}</Alert>}
    </Stack>
  );
}
