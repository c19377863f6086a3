import type { ReactNode } from 'react';
import {
  Alert,
  Box,
  Chip,
  CircularProgress,
  LinearProgress,
  Paper,
  Stack,
  Table,
  TableBody,
  TableCell,
  TableContainer,
  TableHead,
  TableRow,
  Typography,
} from '@mui/material';
import { useQuery } from '@tanstack/react-query';
import { Link as RouterLink } from 'react-router-dom';
import { api, errorMessage, HttpError, unwrap, type FarmAgent, type FarmJob, type FarmStatus } from '../api/client';
import { Redirect, useAuth } from '../auth';
import { timeAgo } from '../format';

/** How often the page asks the API for the farm's state. */
export const OPS_POLL_MS = 3000;

const forbidden = (err: unknown) => err instanceof HttpError && (err.status === 403 || err.status === 401);

// Columns a phone has no room for.
const wide = { display: { xs: 'none', md: 'table-cell' } } as const;

function Stat({ label, value, children }: { label: string; value: ReactNode; children?: ReactNode }) {
  return (
    <Paper variant="outlined" component="section" aria-label={label} sx={{ p: 2, flex: '1 1 160px', minWidth: 0 }}>
      <Typography variant="body2" color="text.secondary">
        {label}
      </Typography>
      <Typography variant="h5" component="p" sx={{ fontVariantNumeric: 'tabular-nums' }}>
        {value}
      </Typography>
      {children}
    </Paper>
  );
}

function Load({ busy, slots, label }: { busy: number; slots: number; label: string }) {
  const pct = slots > 0 ? Math.min(100, (busy / slots) * 100) : 0;
  return (
    <Box sx={{ display: 'flex', alignItems: 'center', gap: 1, minWidth: { xs: 72, sm: 120 } }}>
      <LinearProgress
        variant="determinate"
        value={pct}
        color={pct >= 100 ? 'warning' : 'primary'}
        aria-label={label}
        aria-valuetext={`${busy} of ${slots} slots busy`}
        sx={{ flex: 1, height: 8, borderRadius: 1 }}
      />
      <Typography variant="caption" sx={{ whiteSpace: 'nowrap', fontVariantNumeric: 'tabular-nums' }}>
        {busy}/{slots}
      </Typography>
    </Box>
  );
}

const agentColor: Record<string, 'success' | 'warning' | 'error' | 'default'> = { alive: 'success', draining: 'warning', dead: 'error' };
const jobColor: Record<string, 'success' | 'info' | 'error' | 'default'> = {
  done: 'success',
  splitting: 'info',
  encoding: 'info',
  stitching: 'info',
  failed: 'error',
};

function Cluster({ cluster }: { cluster: FarmStatus['cluster'] }) {
  return (
    <Paper variant="outlined" component="section" aria-labelledby="ops-cluster" sx={{ p: 2 }}>
      <Typography id="ops-cluster" variant="h6" component="h2">
        Coordinators
      </Typography>
      <Typography variant="body2" color="text.secondary" sx={{ mb: 1 }}>
        {cluster.leader ? `Leader ${cluster.leader}` : 'No leader (election under way)'} · term {cluster.term} · commit index {cluster.commitIndex}
      </Typography>
      <Stack
        direction="row"
        spacing={1}
        useFlexGap
        sx={{ flexWrap: 'wrap' }}
        component="ul"
        aria-label="Coordinator nodes"
        style={{ listStyle: 'none', padding: 0, margin: 0 }}
      >
        {cluster.nodes.map((n) => (
          <li key={n.id}>
            <Chip
              size="small"
              variant={n.leader ? 'filled' : 'outlined'}
              color={n.leader ? 'primary' : 'default'}
              label={`${n.id}${n.leader ? ' (leader)' : ''} · ${n.address}`}
            />
          </li>
        ))}
      </Stack>
    </Paper>
  );
}

function Agents({ agents }: { agents: FarmAgent[] }) {
  return (
    <Box component="section" aria-labelledby="ops-agents">
      <Typography id="ops-agents" variant="h6" component="h2" sx={{ mb: 1 }}>
        Agents
      </Typography>
      {agents.length === 0 ? (
        <Typography color="text.secondary">No agent has joined the farm: nothing can be transcoded until one does.</Typography>
      ) : (
        <TableContainer component={Paper} variant="outlined">
          <Table size="small" aria-label="Agents">
            <TableHead>
              <TableRow>
                <TableCell>Agent</TableCell>
                <TableCell>State</TableCell>
                <TableCell>Load</TableCell>
                <TableCell>Encoders</TableCell>
                <TableCell sx={wide} align="right">
                  Cores
                </TableCell>
                <TableCell sx={wide}>Version</TableCell>
                <TableCell sx={wide}>Last seen</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {agents.map((a) => (
                <TableRow key={a.id}>
                  <TableCell component="th" scope="row" sx={{ fontFamily: 'monospace', whiteSpace: 'nowrap' }}>
                    {a.id}
                  </TableCell>
                  <TableCell>
                    <Chip size="small" label={a.state} color={agentColor[a.state] ?? 'default'} />
                  </TableCell>
                  <TableCell>
                    <Load busy={a.busy} slots={a.slots} label={`Load of ${a.id}`} />
                  </TableCell>
                  <TableCell>
                    <Stack direction="row" spacing={0.5} useFlexGap sx={{ flexWrap: 'wrap' }}>
                      {a.encoders.length === 0 ? (
                        <Typography variant="caption">none</Typography>
                      ) : (
                        a.encoders.map((enc) => <Chip key={enc} size="small" variant="outlined" label={enc} />)
                      )}
                    </Stack>
                  </TableCell>
                  <TableCell sx={wide} align="right">
                    {a.cores}
                  </TableCell>
                  <TableCell sx={wide}>{a.version || '—'}</TableCell>
                  <TableCell sx={wide}>{timeAgo(a.lastSeen)}</TableCell>
                </TableRow>
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
    </Box>
  );
}

function Jobs({ jobs }: { jobs: FarmStatus['jobs'] }) {
  const counts: [string, number][] = [
    ['Queued', jobs.queued],
    ['Running', jobs.running],
    ['Done', jobs.done],
    ['Failed', jobs.failed],
    ['Canceled', jobs.canceled],
  ];
  return (
    <Box component="section" aria-labelledby="ops-jobs">
      <Typography id="ops-jobs" variant="h6" component="h2" sx={{ mb: 1 }}>
        Jobs
      </Typography>
      <Stack direction="row" spacing={1} useFlexGap sx={{ flexWrap: 'wrap', mb: 2 }} aria-label="Jobs by state" role="list">
        {counts.map(([name, n]) => (
          <Chip key={name} role="listitem" label={`${name}: ${n}`} variant="outlined" />
        ))}
      </Stack>
      {jobs.recent.length === 0 ? (
        <Typography color="text.secondary">No jobs yet: they appear here once an upload is completed.</Typography>
      ) : (
        <TableContainer component={Paper} variant="outlined">
          <Table size="small" aria-label="Recent jobs">
            <TableHead>
              <TableRow>
                <TableCell>Job</TableCell>
                <TableCell>State</TableCell>
                <TableCell>Progress</TableCell>
                <TableCell sx={wide}>Playable after</TableCell>
                <TableCell sx={wide}>Video</TableCell>
                <TableCell sx={wide}>Updated</TableCell>
              </TableRow>
            </TableHead>
            <TableBody>
              {jobs.recent.map((j) => (
                <JobRow key={j.id} job={j} />
              ))}
            </TableBody>
          </Table>
        </TableContainer>
      )}
    </Box>
  );
}

/** Seconds from a job's submission to a moment of it, as the operator compares them. */
function secondsAfter(created: string, at: string): string {
  return `${((Date.parse(at) - Date.parse(created)) / 1000).toFixed(1)} s`;
}

/** The job's two clocks: when its owner, then everyone else, could first watch the video. */
function Playable({ job: j }: { job: FarmJob }) {
  if (!j.playableAt && !j.publicPlayableAt) {
    return <>—</>;
  }
  return (
    <Typography variant="body2" component="span" sx={{ fontVariantNumeric: 'tabular-nums', whiteSpace: 'nowrap' }}>
      {j.playableAt && <Box component="span" aria-label={`Playable for the owner of job ${j.id}`}>{`owner ${secondsAfter(j.created, j.playableAt)}`}</Box>}
      {j.playableAt && j.publicPlayableAt && ' · '}
      {j.publicPlayableAt && (
        <Box component="span" aria-label={`Playable for the public of job ${j.id}`}>{`public ${secondsAfter(j.created, j.publicPlayableAt)}`}</Box>
      )}
    </Typography>
  );
}

function JobRow({ job: j }: { job: FarmJob }) {
  const pct = Math.round(j.progress * 100);
  return (
    <TableRow>
      <TableCell
        component="th"
        scope="row"
        sx={{ fontFamily: 'monospace', maxWidth: { xs: 88, sm: 160 }, overflow: 'hidden', textOverflow: 'ellipsis', whiteSpace: 'nowrap' }}
        title={j.id}
      >
        {j.id}
      </TableCell>
      <TableCell>
        <Chip size="small" label={j.state} color={jobColor[j.state] ?? 'default'} />
        {j.error && (
          <Typography variant="caption" color="error" component="p" sx={{ mt: 0.5, maxWidth: 280, overflowWrap: 'anywhere' }}>
            {j.error}
          </Typography>
        )}
      </TableCell>
      <TableCell sx={{ minWidth: { xs: 96, sm: 140 } }}>
        <Box sx={{ display: 'flex', alignItems: 'center', gap: 1 }}>
          <LinearProgress variant="determinate" value={pct} aria-label={`Progress of job ${j.id}`} sx={{ flex: 1, height: 8, borderRadius: 1 }} />
          <Typography variant="caption" sx={{ whiteSpace: 'nowrap', fontVariantNumeric: 'tabular-nums' }}>
            {pct}%
            {j.chunksTotal > 0 && (
              <Box component="span" sx={{ display: { xs: 'none', sm: 'inline' } }}>
                {` · ${j.chunksDone}/${j.chunksTotal} chunks`}
              </Box>
            )}
          </Typography>
        </Box>
      </TableCell>
      <TableCell sx={wide}>
        <Playable job={j} />
      </TableCell>
      <TableCell sx={wide}>
        {j.videoId ? (
          <Typography component={RouterLink} to={`/watch/${j.videoId}`} variant="body2" sx={{ color: 'inherit', fontFamily: 'monospace' }}>
            {j.videoId}
          </Typography>
        ) : (
          '—'
        )}
      </TableCell>
      <TableCell sx={wide}>{timeAgo(j.updated)}</TableCell>
    </TableRow>
  );
}

export default function Ops() {
  const { token } = useAuth();
  const farm = useQuery({
    queryKey: ['ops-farm'],
    enabled: !!token,
    queryFn: async () => unwrap(await api.GET('/ops/farm')),
    // Poll while the page is open; a refusal will not change by asking again.
    refetchInterval: (q) => (forbidden(q.state.error) ? false : OPS_POLL_MS),
    staleTime: 0,
    retry: false,
  });
  if (!token) return <Redirect to="/login?returnTo=/ops" />;
  if (forbidden(farm.error))
    return <Alert severity="warning">Farm operations are for moderators and admins. An operator grants the role with `sunomi users set-role`.</Alert>;
  const st = farm.data;
  const t = st?.throughput;
  return (
    <Box sx={{ maxWidth: 1200, mx: 'auto' }}>
      <Typography variant="h5" component="h1" sx={{ mb: 2 }}>
        Farm operations
      </Typography>
      {farm.isLoading && <CircularProgress aria-label="Loading the farm's state" />}
      {farm.isError && (
        <Alert severity="error" sx={{ mb: 2 }}>
          {errorMessage(farm.error)}
          {st ? ' The figures below are from the last successful update.' : ''}
        </Alert>
      )}
      {st && t && (
        <Stack spacing={3}>
          <Stack direction="row" spacing={2} useFlexGap sx={{ flexWrap: 'wrap' }} role="group" aria-label="Throughput">
            <Stat label="Jobs done in the last hour" value={t.jobsDoneLastHour} />
            <Stat label="Slots busy" value={`${t.slotsBusy} / ${t.slotsTotal}`}>
              <LinearProgress
                variant="determinate"
                value={t.slotsTotal > 0 ? Math.min(100, (t.slotsBusy / t.slotsTotal) * 100) : 0}
                aria-label="Farm load"
                aria-valuetext={`${t.slotsBusy} of ${t.slotsTotal} slots busy`}
                sx={{ mt: 1, height: 8, borderRadius: 1 }}
              />
            </Stat>
            <Stat label="Agents alive" value={`${st.agents.filter((a) => a.state === 'alive').length} / ${st.agents.length}`} />
            <Stat label="Jobs in flight" value={st.jobs.queued + st.jobs.running} />
          </Stack>
          <Cluster cluster={st.cluster} />
          <Agents agents={st.agents} />
          <Jobs jobs={st.jobs} />
          <Typography variant="caption" color="text.secondary">
            Updated {new Date(farm.dataUpdatedAt).toLocaleTimeString()}; refreshes every {OPS_POLL_MS / 1000} s.
          </Typography>
        </Stack>
      )}
    </Box>
  );
}
