import { act, cleanup, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { json, renderPage, stubFetch } from '../test/harness';
import Login from './Login';

function renderLogin(providers: { password: boolean; github: boolean } | null) {
  stubFetch((_req, path) => (path.endsWith('/auth/providers') && providers ? json(providers) : json({ error: { code: 'internal', message: 'down' } }, 500)));
  renderPage(<Login />, '/login?returnTo=/upload');
}

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

describe('Login', () => {
  it('offers GitHub, returning to the page that sent the user, when the server has it', async () => {
    renderLogin({ password: true, github: true });
    const github = await screen.findByRole('link', { name: 'Sign in with GitHub' });
    expect(github).toHaveAttribute('href', '/api/v1/auth/github/login?returnTo=%2Fupload');
  });

  it('shows no GitHub button when the server has none configured', async () => {
    renderLogin({ password: true, github: false });
    await screen.findByRole('button', { name: 'Sign in' });
    // Give the providers query time to answer before checking the button stays away.
    await act(() => new Promise((r) => setTimeout(r, 50)));
    expect(screen.queryByRole('link', { name: 'Sign in with GitHub' })).toBeNull();
  });

  it('keeps password sign-in when the providers cannot be read', async () => {
    renderLogin(null);
    expect(await screen.findByRole('button', { name: 'Sign in' })).toBeInTheDocument();
    await act(() => new Promise((r) => setTimeout(r, 50)));
    expect(screen.queryByRole('link', { name: 'Sign in with GitHub' })).toBeNull();
  });
});
