// The API client, generated from api/openapi.yaml (npm run gen): a contract change that breaks
// the app breaks `tsc`.
import createClient, { type Middleware } from 'openapi-fetch';
import type { components, paths } from './schema';

export type Video = components['schemas']['Video'];
export type VideoPage = components['schemas']['VideoPage'];
export type User = components['schemas']['User'];
export type Comment = components['schemas']['Comment'];
export type ChannelPage = components['schemas']['ChannelPage'];
export type ProgressEvent = components['schemas']['ProgressEvent'];
export type Stats = components['schemas']['Stats'];
export type Upload = components['schemas']['Upload'];
export type Visibility = components['schemas']['Visibility'];
export type QueueItem = components['schemas']['QueueItem'];
export type FarmStatus = components['schemas']['FarmStatus'];
export type FarmAgent = components['schemas']['FarmAgent'];
export type FarmJob = components['schemas']['FarmJob'];
export type ApiError = components['schemas']['Error'];

const TOKEN_KEY = 'sunomi.token';
const listeners = new Set<() => void>();

export function getToken(): string | null {
  try {
    return localStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string | null) {
  if (token) localStorage.setItem(TOKEN_KEY, token);
  else localStorage.removeItem(TOKEN_KEY);
  listeners.forEach((l) => l());
}

export function onTokenChange(l: () => void): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

const auth: Middleware = {
  onRequest({ request }) {
    const token = getToken();
    if (token) request.headers.set('Authorization', `Bearer ${token}`);
    return request;
  },
  onResponse({ response }) {
    // An expired or revoked token: sign out rather than fail every request.
    if (response.status === 401 && getToken() && !response.url.includes('/auth/login')) setToken(null);
    return response;
  },
};

export const api = createClient<paths>({
  // Absolute, because Request needs one outside browsers (tests); fetch is looked up per call so
  // that tests can stub it.
  baseUrl: `${globalThis.location?.origin ?? 'http://localhost'}/api/v1`,
  fetch: (req) => globalThis.fetch(req),
});
api.use(auth);

/** HttpError carries the API's error body. */
export class HttpError extends Error {
  constructor(
    public status: number,
    message: string,
    public fields?: Record<string, string>,
  ) {
    super(message);
  }
}

/** unwrap turns an openapi-fetch result into its data, or throws an HttpError with the API's message. */
export function unwrap<T>(r: { data?: T; error?: unknown; response: Response }): T {
  if (r.error !== undefined || !r.response.ok) {
    const e = r.error as ApiError | undefined;
    throw new HttpError(
      r.response.status,
      e?.error?.message ?? `The server answered ${r.response.status} ${r.response.statusText}`.trim(),
      e?.error?.fields,
    );
  }
  return r.data as T;
}

export function errorMessage(err: unknown): string {
  if (err instanceof HttpError) {
    if (err.fields && Object.keys(err.fields).length > 0) {
      return `${err.message} (${Object.entries(err.fields)
        .map(([k, v]) => `${k} ${v}`)
        .join('; ')})`;
    }
    return err.message;
  }
  if (err instanceof Error) return err.message;
  return String(err);
}
