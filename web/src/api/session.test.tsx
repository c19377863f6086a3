import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { json, stubFetch } from '../test/harness';
import { api, unwrap } from './client';
import { getToken, refreshSession, setSession, setToken, startSession } from './session';

const user = { id: '7', username: 'ada', displayName: 'Ada', role: 'user' as const, createdAt: '2026-01-01T00:00:00Z' };
const session = (token: string, lifetimeMs = 15 * 60_000) => ({ token, expiresAt: new Date(Date.now() + lifetimeMs).toISOString(), user });
const bearer = (req: Request) => req.headers.get('Authorization');

afterEach(() => {
  cleanup();
  setSession(null);
  setToken(null);
  vi.useRealTimers();
  vi.unstubAllGlobals();
  localStorage.clear();
});

describe('session', () => {
  it('keeps the access token in memory only', () => {
    setSession(session('secret.access.token'));
    expect(getToken()).toBe('secret.access.token');
    for (let i = 0; i < localStorage.length; i++) {
      expect(localStorage.getItem(localStorage.key(i)!)).not.toContain('secret.access.token');
    }
  });

  it('refreshes silently before the access token expires', async () => {
    vi.useFakeTimers();
    const fetchMock = stubFetch((req, path) => (path === '/api/v1/auth/refresh' && req.method === 'POST' ? json(session('second', 4_000)) : json({}, 404)));
    setSession(session('first', 4_000));
    await vi.advanceTimersByTimeAsync(2_500);
    expect(fetchMock).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1_000);
    expect(fetchMock).toHaveBeenCalledTimes(1);
    expect(getToken()).toBe('second');
    // And again before the new one expires.
    await vi.advanceTimersByTimeAsync(3_500);
    expect(fetchMock).toHaveBeenCalledTimes(2);
  });

  it('refreshes once on a 401 and sends the request again', async () => {
    let refreshes = 0;
    stubFetch((req, path) => {
      if (path === '/api/v1/auth/refresh') return (refreshes++, json(session('fresh')));
      if (path === '/api/v1/auth/me') return bearer(req) === 'Bearer fresh' ? json(user) : json({ error: { code: 'unauthorized', message: 'expired' } }, 401);
      return json({}, 404);
    });
    setSession(session('stale'));
    // Two requests meet the 401 together: one refresh serves both.
    const [a, b] = await Promise.all([api.GET('/auth/me'), api.GET('/auth/me')]);
    expect(unwrap(a).username).toBe('ada');
    expect(unwrap(b).username).toBe('ada');
    expect(refreshes).toBe(1);
    expect(getToken()).toBe('fresh');
  });

  it('signs out when the session has ended', async () => {
    stubFetch(() => json({ error: { code: 'unauthorized', message: 'ended' } }, 401));
    setSession(session('revoked'));
    const r = await api.GET('/auth/me');
    expect(r.response.status).toBe(401);
    expect(getToken()).toBeNull();
    expect(localStorage.getItem('sunomi.session')).toBeNull();
    expect(await refreshSession()).toBe(false);
  });

  it('exchanges the GitHub code for a session', async () => {
    const fetchMock = stubFetch(async (req, path) =>
      path === '/api/v1/auth/github/exchange' && (await req.json()).code === 'one-time' ? json(session('from-github')) : json({}, 404),
    );
    expect(await startSession('one-time')).toBeUndefined();
    expect(getToken()).toBe('from-github');
    expect(fetchMock).toHaveBeenCalledTimes(1);
  });

  it('says why an exchange failed', async () => {
    stubFetch(() => json({ error: { code: 'unauthorized', message: 'this sign-in link is not valid in this browser' } }, 401));
    expect(await startSession('stolen')).toBe('this sign-in link is not valid in this browser');
    expect(getToken()).toBeNull();
  });

  it('asks nothing at start-up of a browser that never signed in', async () => {
    const fetchMock = stubFetch(() => json({}, 404));
    expect(await startSession()).toBeUndefined();
    expect(fetchMock).not.toHaveBeenCalled();
  });
});

describe('a #token= link (login CSRF)', () => {
  it('signs nobody in', async () => {
    window.history.replaceState(null, '', '/#token=attackers.access.token');
    const seen: Request[] = [];
    stubFetch((req, path) => {
      seen.push(req);
      return path.endsWith('/auth/providers') ? json({ password: true, github: true }) : json({ videos: [], nextCursor: null });
    });
    window.matchMedia ??= ((q: string) => ({
      matches: false,
      media: q,
      addEventListener() {},
      removeEventListener() {},
      addListener() {},
      removeListener() {},
    })) as never;
    const { App } = await import('../App');
    render(<App />);
    expect(await screen.findByRole('link', { name: 'Sign in' })).toBeInTheDocument();
    expect(getToken()).toBeNull();
    // The home page has asked for its videos, anonymously.
    await vi.waitFor(() => expect(seen.some((r) => new URL(r.url).pathname === '/api/v1/videos')).toBe(true), { timeout: 20_000 });
    for (const req of seen) {
      expect(bearer(req)).toBeNull();
      expect(req.url).not.toContain('attackers.access.token');
    }
  }, 30_000);
});
