import { screen, within } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it } from 'vitest';
import { json, renderPage, stubFetch, signedInDuringEachTest } from '../../test/harness';
import AuditLog from './AuditLog';
import type { AuditEntry } from './shared';
import { moderator, now, record, type Call } from './testdata';

const entries: AuditEntry[] = [
  { id: '4', moderator: 'operator root', action: 'set-role', subject: 'bea', note: 'user → moderator', createdAt: now },
  { id: '3', moderator: 'mod', action: 'remove', videoId: 'vidAAAAAAAA', commentId: '12', note: 'abuse', createdAt: now },
  { id: '2', moderator: 'mod', action: 'restrict', videoId: 'vidBBBBBBBB', labels: ['gore', 'violence'], createdAt: now },
];

function renderAudit(answer: (call: Call) => Response) {
  const calls: Call[] = [];
  stubFetch(async (req, path) => {
    const call = await record(req, path);
    calls.push(call);
    if (path.endsWith('/auth/me')) return json(moderator);
    if (path === '/api/v1/moderation/audit') return answer(call);
    return json({ error: { code: 'not_found', message: 'no such thing' } }, 404);
  });
  renderPage(<AuditLog />, '/moderation?tab=audit');
  return () => calls.filter((c) => c.path === '/api/v1/moderation/audit');
}

signedInDuringEachTest();

describe('Audit log', () => {
  it('lists moderator actions with who, what, about what and the note', async () => {
    renderAudit(() => json({ entries }));
    const table = await screen.findByRole('table', { name: 'Audit log' });
    const rows = within(table).getAllByRole('row').slice(1);
    expect(rows).toHaveLength(3);
    expect(rows[0]).toHaveTextContent('operator root');
    expect(within(rows[0]).getByRole('link', { name: '@bea' })).toHaveAttribute('href', '/channel/bea');
    expect(rows[0]).toHaveTextContent('user → moderator');
    expect(rows[1]).toHaveTextContent('comment 12 on video vidAAAAAAAA');
    expect(within(rows[1]).getByRole('link', { name: 'video vidAAAAAAAA' })).toHaveAttribute('href', '/watch/vidAAAAAAAA');
    expect(rows[2]).toHaveTextContent('labels: gore, violence');
  });

  it('filters by moderator, action and dates when the form is submitted, and clears', async () => {
    const audit = renderAudit(() => json({ entries }));
    await screen.findByRole('table', { name: 'Audit log' });
    await userEvent.type(screen.getByLabelText('Moderator'), ' mod ');
    await userEvent.click(screen.getByLabelText('Action'));
    await userEvent.click(await screen.findByRole('option', { name: 'Remove' }));
    await userEvent.type(screen.getByLabelText('From'), '2026-03-01');
    await userEvent.type(screen.getByLabelText('To'), '2026-03-31');
    expect(audit()).toHaveLength(1); // nothing sent before the form is submitted
    await userEvent.click(screen.getByRole('button', { name: 'Filter' }));
    await screen.findByRole('table', { name: 'Audit log' });
    expect(audit().at(-1)!.query).toEqual({ limit: '25', moderator: 'mod', action: 'remove', from: '2026-03-01', to: '2026-03-31' });
    await userEvent.click(screen.getByRole('button', { name: 'Clear' }));
    expect(screen.getByLabelText('Moderator')).toHaveValue('');
    await screen.findByRole('table', { name: 'Audit log' });
    expect(audit().at(-1)!.query).toEqual({ limit: '25' });
  });

  it('pages with the cursor the API gave, keeping the filter', async () => {
    const audit = renderAudit((c) => (c.query.cursor ? json({ entries: entries.slice(2) }) : json({ entries: entries.slice(0, 2), nextCursor: 'c2' })));
    await userEvent.type(await screen.findByLabelText('Moderator'), 'mod');
    await userEvent.click(screen.getByRole('button', { name: 'Filter' }));
    await screen.findByRole('table', { name: 'Audit log' });
    await userEvent.click(await screen.findByRole('button', { name: 'More entries' }));
    await screen.findByText('labels: gore, violence');
    expect(audit().at(-1)!.query).toEqual({ limit: '25', moderator: 'mod', cursor: 'c2' });
    expect(screen.queryByRole('button', { name: 'More entries' })).not.toBeInTheDocument();
  });

  it("shows the API's sentence for a bad filter", async () => {
    renderAudit((c) =>
      c.query.from
        ? json({ error: { code: 'invalid', message: 'some filters are invalid', fields: { to: 'must be after from' } } }, 400)
        : json({ entries: [] }),
    );
    expect(await screen.findByText('No moderator action matches.')).toBeInTheDocument();
    await userEvent.type(screen.getByLabelText('From'), '2026-03-02');
    await userEvent.type(screen.getByLabelText('To'), '2026-03-01');
    await userEvent.click(screen.getByRole('button', { name: 'Filter' }));
    expect(await screen.findByText('some filters are invalid (to must be after from)')).toBeInTheDocument();
  });
});
