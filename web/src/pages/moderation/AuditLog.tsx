import { useState, type FormEvent } from 'react';
import { Button, MenuItem, Stack, Table, TableBody, TableCell, TableContainer, TableHead, TableRow, TextField } from '@mui/material';
import { Link as RouterLink } from 'react-router-dom';
import { api, unwrap } from '../../api/client';
import { PagedList, usePaged, type AuditAction, type AuditEntry } from './shared';

const actions: { value: AuditAction; label: string }[] = [
  { value: 'hold', label: 'Hold' },
  { value: 'approve', label: 'Approve' },
  { value: 'restrict', label: 'Restrict' },
  { value: 'remove', label: 'Remove' },
  { value: 'set-role', label: 'Role change' },
];

interface Filter {
  moderator: string;
  action: AuditAction | '';
  from: string;
  to: string;
}

const noFilter: Filter = { moderator: '', action: '', from: '', to: '' };

/** Target is what an entry was about: a video, a comment of a video, or an account. */
function Target({ entry }: { entry: AuditEntry }) {
  if (entry.subject) return <RouterLink to={`/channel/${entry.subject}`}>@{entry.subject}</RouterLink>;
  if (!entry.videoId) return null;
  const video = <RouterLink to={`/watch/${entry.videoId}`}>video {entry.videoId}</RouterLink>;
  return entry.commentId ? (
    <>
      comment {entry.commentId} on {video}
    </>
  ) : (
    video
  );
}

/**
 * AuditLog lists every moderator action, newest first, filtered by moderator, action and dates
 * (the "to" date included); the filters apply when the form is submitted.
 */
export default function AuditLog() {
  const [draft, setDraft] = useState<Filter>(noFilter);
  const [filter, setFilter] = useState<Filter>(noFilter);
  const log = usePaged(['audit', filter], async (cursor) =>
    unwrap(
      await api.GET('/moderation/audit', {
        params: {
          query: {
            cursor,
            limit: 25,
            moderator: filter.moderator || undefined,
            action: filter.action || undefined,
            from: filter.from || undefined,
            to: filter.to || undefined,
          },
        },
      }),
    ),
  );
  const entries = log.data?.pages.flatMap((p) => p.entries) ?? [];
  const submit = (e: FormEvent) => {
    e.preventDefault();
    setFilter({ ...draft, moderator: draft.moderator.trim() });
  };
  return (
    <Stack spacing={2}>
      <Stack
        component="form"
        aria-label="Filter the audit log"
        onSubmit={submit}
        direction={{ xs: 'column', sm: 'row' }}
        spacing={1}
        useFlexGap
        sx={{ flexWrap: 'wrap' }}
      >
        <TextField size="small" label="Moderator" value={draft.moderator} onChange={(e) => setDraft({ ...draft, moderator: e.target.value })} />
        <TextField
          select
          size="small"
          label="Action"
          value={draft.action}
          onChange={(e) => setDraft({ ...draft, action: e.target.value as Filter['action'] })}
          sx={{ minWidth: 160 }}
        >
          <MenuItem value="">Any action</MenuItem>
          {actions.map((a) => (
            <MenuItem key={a.value} value={a.value}>
              {a.label}
            </MenuItem>
          ))}
        </TextField>
        <TextField
          size="small"
          type="date"
          label="From"
          value={draft.from}
          onChange={(e) => setDraft({ ...draft, from: e.target.value })}
          slotProps={{ inputLabel: { shrink: true } }}
        />
        <TextField
          size="small"
          type="date"
          label="To"
          value={draft.to}
          onChange={(e) => setDraft({ ...draft, to: e.target.value })}
          slotProps={{ inputLabel: { shrink: true } }}
        />
        <Button type="submit" variant="contained">
          Filter
        </Button>
        <Button
          onClick={() => {
            setDraft(noFilter);
            setFilter(noFilter);
          }}
        >
          Clear
        </Button>
      </Stack>
      <PagedList query={log} count={entries.length} emptyText="No moderator action matches." what="entries">
        {entries.length > 0 && (
          <TableContainer>
            <Table size="small" aria-label="Audit log">
              <TableHead>
                <TableRow>
                  <TableCell>When</TableCell>
                  <TableCell>Moderator</TableCell>
                  <TableCell>Action</TableCell>
                  <TableCell>About</TableCell>
                  <TableCell>Note</TableCell>
                </TableRow>
              </TableHead>
              <TableBody>
                {entries.map((a) => (
                  <TableRow key={a.id}>
                    <TableCell>{new Date(a.createdAt).toLocaleString()}</TableCell>
                    <TableCell>{a.moderator}</TableCell>
                    <TableCell>{a.action}</TableCell>
                    <TableCell>
                      <Target entry={a} />
                    </TableCell>
                    <TableCell>{[a.labels?.length ? `labels: ${a.labels.join(', ')}` : '', a.note ?? ''].filter(Boolean).join(' · ')}</TableCell>
                  </TableRow>
                ))}
              </TableBody>
            </Table>
          </TableContainer>
        )}
      </PagedList>
    </Stack>
  );
}
