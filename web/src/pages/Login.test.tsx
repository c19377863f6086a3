import { act, cleanup, render, screen } from '@testing-library/react';
import { QueryClient, QueryClientProvider } from '@tanstack/react-query';
import { MemoryRouter } from 'react-router-dom';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AuthProvider } from '../auth';
import Login from './Login';

function renderLogin(providers: { password: boolean; github: boolean } | null) {
  vi.stubGlobal(
    'fetch',
    vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
      const req = input instanceof Request ? input : new Request(new URL(String(input), 'http://localhost'), init);
      if (new URL(req.url).pathname.endsWith('/auth/providers') && providers)
        return new Response(JSON.stringify(providers), { headers: { 'Content-Type': 'application/json' } });
      return new Response(JSON.stringify({ error: { code: 'internal', message: 'down' } }), { status: 500, headers: { 'Content-Type': 'application/json' } });
    }),
  );
  const qc = new QueryClient({ defaultOptions: { queries: { retry: false } } });
  render(
    <QueryClientProvider client={qc}>
      <AuthProvider>
        <MemoryRouter initialEntries={['/login?returnTo=/upload']}>
          <Login />
        </MemoryRouter>
      </AuthProvider>
    </QueryClientProvider>,
  );
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
