import { useCallback, useState } from 'react';
import { Alert, Box, Tab, Tabs, Typography } from '@mui/material';
import { useSearchParams } from 'react-router-dom';
import { Redirect, useAuth } from '../auth';
import AuditLog from './moderation/AuditLog';
import CommentQueue from './moderation/CommentQueue';
import HeldVideos from './moderation/HeldVideos';
import ReportQueue from './moderation/ReportQueue';
import { ForbiddenContext } from './moderation/shared';

const tabs = [
  { value: 'videos', label: 'Videos', panel: HeldVideos },
  { value: 'reports', label: 'Reports', panel: ReportQueue },
  { value: 'comments', label: 'Comments', panel: CommentQueue },
  { value: 'audit', label: 'Audit log', panel: AuditLog },
] as const;

/**
 * Moderation is the moderators' page, one tab each: held videos, the weighted report queue, the
 * comment queue and the audit log. The tab is in the URL (?tab=), so each can be linked to.
 */
export default function Moderation() {
  const { token } = useAuth();
  const [params, setParams] = useSearchParams();
  const [forbidden, setForbidden] = useState(false);
  const onForbidden = useCallback(() => setForbidden(true), []);
  if (!token) return <Redirect to="/login?returnTo=/moderation" />;
  if (forbidden) return <Alert severity="warning">The moderation queue is for moderators. An operator grants the role with `sunomi users set-role`.</Alert>;
  const current = tabs.find((t) => t.value === params.get('tab')) ?? tabs[0];
  const Panel = current.panel;
  return (
    <Box sx={{ maxWidth: 1000, mx: 'auto' }}>
      <Typography variant="h5" component="h1" sx={{ mb: 1 }}>
        Moderation
      </Typography>
      <Tabs
        value={current.value}
        onChange={(_e, v: string) => setParams({ tab: v }, { replace: true })}
        aria-label="Moderation"
        variant="scrollable"
        allowScrollButtonsMobile
        sx={{ mb: 2 }}
      >
        {tabs.map((t) => (
          <Tab key={t.value} value={t.value} label={t.label} id={`moderation-tab-${t.value}`} aria-controls={`moderation-panel-${t.value}`} />
        ))}
      </Tabs>
      <div role="tabpanel" id={`moderation-panel-${current.value}`} aria-labelledby={`moderation-tab-${current.value}`}>
        <ForbiddenContext.Provider value={onForbidden}>
          <Panel />
        </ForbiddenContext.Provider>
      </div>
    </Box>
  );
}
