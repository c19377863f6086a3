// The API client, generated from api/openapi.yaml (npm run gen): a contract change that breaks
// the app breaks `tsc`.
import createClient from 'openapi-fetch';
import type { components, paths } from './schema';
import { getToken, refreshSession } from './session';

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
export type Session = components['schemas']['Session'];

export { getToken, onTokenChange, setToken } from './session';

// A 401 from these means wrong credentials, not an expired token.
const signingIn = /\/auth\/(login|register)$/;

/**
 * authedFetch sends req with the access token. A 401 on a request that carried one means the
 * token expired or its session ended: one silent refresh, then the request once more; when the
 * refresh fails too, the app is signed out (refreshSession does that).
 */
async function authedFetch(req: Request): Promise<Response> {
  const sentWith = getToken();
  // Cloned before sending: a sent request's body cannot be read again.
  const again = sentWith ? req.clone() : null;
  if (sentWith) req.headers.set('Authorization', `Bearer ${sentWith}`);
  const res = await globalThis.fetch(req);
  if (res.status !== 401 || !again || signingIn.test(new URL(req.url).pathname)) return res;
  // Another request may have refreshed meanwhile; otherwise refresh now.
  if (getToken() === sentWith && !(await refreshSession())) return res;
  const fresh = getToken();
  if (!fresh) return res;
  again.headers.set('Authorization', `Bearer ${fresh}`);
  return globalThis.fetch(again);
}

export const api = createClient<paths>({
  // Absolute, because Request needs one outside browsers (tests); fetch is looked up per call so
  // that tests can stub it.
  baseUrl: `${globalThis.location?.origin ?? 'http://localhost'}/api/v1`,
  fetch: authedFetch,
});

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
    throw new HttpError(r.response.status, e?.error?.message ?? `The server answered ${r.response.status} ${r.response.statusText}`.trim(), e?.error?.fields);
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
