import { useState } from 'react';
import { Box, Button, Chip, Stack, Typography } from '@mui/material';
import { api, unwrap } from '../../api/client';
import { timeAgo } from '../../format';
import { PagedList, usePaged, type TargetReport } from './shared';

export interface Target {
  type: 'video' | 'comment';
  id: string;
}

/** accountAge is "3 days old" from when an account was made. */
function accountAge(createdAt: string): string {
  return timeAgo(createdAt).replace(/ ago$/, ' old').replace('just now', 'minutes old');
}

/** Standing shows what a report weighs and why: the parts of its reporter's standing. */
function Standing({ report }: { report: TargetReport }) {
  const r = report.reporter;
  const parts: string[] = [];
  if (r.deleted) parts.push('deleted account');
  else {
    if (r.accountCreatedAt) parts.push(`account ${accountAge(r.accountCreatedAt)}`);
    if (r.newAccount) parts.push('new account when reporting');
    parts.push(r.github ? 'GitHub linked' : 'no GitHub');
    parts.push(`${r.upheld} upheld, ${r.rejected} rejected before`);
  }
  if (report.sameNetwork > 0) parts.push(`same network as ${report.sameNetwork} other report${report.sameNetwork === 1 ? '' : 's'}`);
  return (
    <Stack direction="row" spacing={1} useFlexGap sx={{ flexWrap: 'wrap', mt: 0.5 }}>
      <Chip size="small" color="primary" variant="outlined" label={`weight ${report.weight.toFixed(2)}`} />
      {parts.map((p) => (
        <Chip key={p} size="small" variant="outlined" label={p} />
      ))}
    </Stack>
  );
}

/** ReportList lists the open reports of a target, newest first, with their reporters' standing. */
function ReportList({ target }: { target: Target }) {
  const reports = usePaged(['target', target.type, target.id], async (cursor) => {
    const query = { cursor, limit: 10 };
    return target.type === 'video'
      ? unwrap(await api.GET('/moderation/videos/{videoId}/reports', { params: { path: { videoId: target.id }, query } }))
      : unwrap(await api.GET('/moderation/comments/{commentId}/reports', { params: { path: { commentId: target.id }, query } }));
  });
  const items = reports.data?.pages.flatMap((p) => p.reports) ?? [];
  return (
    <PagedList query={reports} count={items.length} emptyText="No open reports." what="reports">
      <Stack component="ul" spacing={1} aria-label={`Reports of this ${target.type}`} sx={{ listStyle: 'none', p: 0, m: 0 }}>
        {items.map((rp) => (
          <Box component="li" key={rp.id} sx={{ borderLeft: 3, borderColor: 'divider', pl: 1 }}>
            <Typography variant="body2">
              <strong>{rp.reason}</strong> · {rp.reporter.username ? `@${rp.reporter.username}` : 'a deleted account'} · {timeAgo(rp.createdAt)}
            </Typography>
            {rp.note && <Typography variant="body2">“{rp.note}”</Typography>}
            <Standing report={rp} />
          </Box>
        ))}
      </Stack>
    </PagedList>
  );
}

/** TargetReports is a "Show reports" toggle that opens the target's reports. */
export function TargetReports({ target, count }: { target: Target; count: number }) {
  const [open, setOpen] = useState(false);
  if (count === 0) return null;
  return (
    <Box sx={{ mt: 1 }}>
      <Button size="small" aria-expanded={open} onClick={() => setOpen(!open)}>
        {open ? 'Hide reports' : `Show reports (${count})`}
      </Button>
      {open && <ReportList target={target} />}
    </Box>
  );
}
