// The browser's session. The access token lives in this module's memory only, never in
// localStorage or a URL: a script injected into the page cannot find one at rest, and a link
// cannot plant one. What survives a reload is the HttpOnly refresh cookie, which only the
// /api/v1/auth endpoints see; POST /auth/refresh turns it into a new access token (and a new
// cookie) at start-up, shortly before each token expires, and when a request meets a 401.
import type { components } from './schema';

type Session = components['schemas']['Session'];

/** HINT_KEY marks, in localStorage, that this browser holds a session: '1' or nothing, never a token. */
const HINT_KEY = 'sunomi.session';

let token: string | null = null;
// subject names whose token it is, so that a refresh (same user) does not look like a new sign-in.
let subject: string | null = null;
let ready = true;
let timer: ReturnType<typeof setTimeout> | undefined;
let inflight: Promise<boolean> | null = null;
const listeners = new Set<() => void>();
const emit = () => listeners.forEach((l) => l());

export const getToken = (): string | null => token;
export const getSubject = (): string | null => subject;
/** isReady is false while the app is restoring or exchanging a session at start-up. */
export const isReady = (): boolean => ready;

export function onTokenChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

function setHint(on: boolean) {
  try {
    if (on) localStorage.setItem(HINT_KEY, '1');
    else localStorage.removeItem(HINT_KEY);
  } catch {
    /* storage disabled: the session just is not restored after a reload */
  }
}

function hasHint(): boolean {
  try {
    return localStorage.getItem(HINT_KEY) === '1';
  } catch {
    return false;
  }
}

/** setToken sets a bare access token whose user is the token itself; tests use it. */
export function setToken(t: string | null) {
  clearTimeout(timer);
  token = subject = t;
  emit();
}

/** setSession keeps a session the API answered with, and schedules its silent refresh; null signs out here. */
export function setSession(s: Pick<Session, 'token' | 'expiresAt' | 'user'> | null) {
  clearTimeout(timer);
  token = s?.token ?? null;
  subject = s?.user.id ?? null;
  setHint(!!s);
  if (s) {
    const left = Date.parse(s.expiresAt) - Date.now();
    // A minute before expiry, or a quarter of the lifetime before it when that is shorter.
    const ahead = Math.min(60_000, left / 4);
    timer = setTimeout(() => void refreshSession(), Math.max(1_000, left - ahead));
  }
  emit();
}

const apiURL = (path: string) => `${globalThis.location?.origin ?? 'http://localhost'}/api/v1${path}`;

function post(path: string, body?: unknown, bearer?: string | null): Promise<Response> {
  const headers: Record<string, string> = {};
  if (body !== undefined) headers['Content-Type'] = 'application/json';
  if (bearer) headers.Authorization = `Bearer ${bearer}`;
  return globalThis.fetch(apiURL(path), {
    method: 'POST',
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    credentials: 'same-origin',
  });
}

async function messageOf(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: { message?: string } };
    if (body.error?.message) return body.error.message;
  } catch {
    /* not JSON */
  }
  return `the server answered ${res.status}`;
}

/**
 * withRefreshLock runs fn while no other tab of this browser refreshes: the tabs share the
 * cookie, and two of them spending the same refresh token would look like theft and end the
 * session. The Web Locks API serialises them; without it (old browsers, tests) fn just runs.
 */
async function withRefreshLock<T>(fn: () => Promise<T>): Promise<T> {
  const locks = (globalThis.navigator as Navigator | undefined)?.locks;
  return locks ? await locks.request('sunomi-refresh', fn) : await fn();
}

/**
 * refreshSession trades the refresh cookie for a new access token; concurrent callers share one
 * request. It resolves false when there is no session any more (then the app is signed out) or
 * the server could not be reached.
 */
export function refreshSession(): Promise<boolean> {
  inflight ??= withRefreshLock(async () => {
    const res = await post('/auth/refresh');
    if (res.ok) {
      setSession((await res.json()) as Session);
      return true;
    }
    if (res.status === 401) setSession(null);
    return false;
  })
    .catch(() => false)
    .finally(() => {
      inflight = null;
    });
  return inflight;
}

/**
 * startSession runs once at start-up: it exchanges the one-time code a GitHub sign-in left in
 * the URL fragment, or restores the session this browser had. It resolves to an error to show,
 * if any.
 */
export async function startSession(code?: string): Promise<string | undefined> {
  if (!code && !hasHint()) return undefined;
  ready = false;
  emit();
  try {
    if (code) {
      const res = await post('/auth/github/exchange', { code });
      if (!res.ok) return await messageOf(res);
      setSession((await res.json()) as Session);
      return undefined;
    }
    await refreshSession();
    return undefined;
  } catch {
    return 'the server could not be reached';
  } finally {
    ready = true;
    emit();
  }
}

/**
 * endSession signs out: this browser's session (by its cookie, which works even when the access
 * token has expired), or with everywhere every session of the user, which needs a valid access
 * token and says so when it fails.
 */
export async function endSession(everywhere = false): Promise<void> {
  if (everywhere) {
    let res = await post('/auth/logout-all', undefined, token);
    if (res.status === 401 && (await refreshSession())) res = await post('/auth/logout-all', undefined, token);
    if (!res.ok) throw new Error(await messageOf(res));
  } else {
    await post('/auth/logout').catch(() => undefined);
  }
  setSession(null);
}

// Another tab signed out (or in): follow it, since the tabs share one cookie.
globalThis.addEventListener?.('storage', (e: StorageEvent) => {
  if (e.key !== HINT_KEY) return;
  if (e.newValue === null && token) setSession(null);
  else if (e.newValue === '1' && !token) void refreshSession();
});
