import { screen } from '@testing-library/react';
import userEvent from '@testing-library/user-event';
import { describe, expect, it, vi } from 'vitest';
import { json, renderPage, signedInDuringEachTest, stubFetch } from '../test/harness';
import { ChangePasswordDialog } from './ChangePassword';

signedInDuringEachTest();

describe('ChangePasswordDialog', () => {
  it('sends the current and the new password', async () => {
    const sent: unknown[] = [];
    stubFetch(async (req, path) => {
      if (path === '/api/v1/me/password' && req.method === 'PUT') {
        sent.push(await req.json());
        return new Response(null, { status: 204 });
      }
      return json({}, 404);
    });
    const onDone = vi.fn();
    renderPage(<ChangePasswordDialog open onClose={() => {}} onDone={onDone} />);
    await userEvent.type(screen.getByLabelText(/Current password/), 'correct horse battery');
    await userEvent.type(screen.getByLabelText(/New password/), 'a brand new password');
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
    await vi.waitFor(() => expect(onDone).toHaveBeenCalled());
    expect(sent).toEqual([{ current: 'correct horse battery', new: 'a brand new password' }]);
  });

  it('shows why the server refused', async () => {
    stubFetch(() =>
      json({ error: { code: 'invalid_request', message: 'some fields are invalid', fields: { current: "is not the account's password" } } }, 400),
    );
    const onDone = vi.fn();
    renderPage(<ChangePasswordDialog open onClose={() => {}} onDone={onDone} />);
    await userEvent.type(screen.getByLabelText(/Current password/), 'wrong guess here');
    await userEvent.type(screen.getByLabelText(/New password/), 'a brand new password');
    await userEvent.click(screen.getByRole('button', { name: 'Change password' }));
    expect(await screen.findByRole('alert')).toHaveTextContent("current is not the account's password");
    expect(onDone).not.toHaveBeenCalled();
  });
});
