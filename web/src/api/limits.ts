// Rate-limit answers (429) read as sentences: the API says "try again in 3540 seconds" and sends
// Retry-After; people read "Try again in 59 minutes."
import { HttpError, unwrap } from './client';

/** waitWords says how long seconds is in the largest unit that fits: "45 seconds", "59 minutes", "2 hours". */
export function waitWords(seconds: number): string {
  const s = Math.max(1, Math.ceil(seconds));
  const [n, unit] = s < 90 ? [s, 'second'] : s < 90 * 60 ? [Math.round(s / 60), 'minute'] : [Math.round(s / 3600), 'hour'];
  return `${n} ${unit}${n === 1 ? '' : 's'}`;
}

/** sentence starts text with a capital and ends it with a full stop. */
export function sentence(text: string): string {
  const t = text.trim();
  if (!t) return t;
  const capital = t[0].toUpperCase() + t.slice(1);
  return /[.!?]$/.test(capital) ? capital : `${capital}.`;
}

/**
 * limitedMessage rewrites the message of a 429 as sentences, with the wait of Retry-After (in
 * seconds) in words: "You may make at most 10 reports an hour. Try again in 59 minutes."
 */
export function limitedMessage(message: string, retryAfter: string | null): string {
  const base = message.replace(/;?\s*try again in \d+ seconds?\.?$/i, '');
  const secs = Number(retryAfter);
  const wait = retryAfter !== null && retryAfter !== '' && Number.isFinite(secs) ? ` Try again in ${waitWords(secs)}.` : ' Try again later.';
  return sentence(base || 'too many requests') + wait;
}

/** unwrapLimited is unwrap, with a 429's message rewritten by limitedMessage. */
export function unwrapLimited<T>(r: { data?: T; error?: unknown; response: Response }): T {
  try {
    return unwrap(r);
  } catch (err) {
    if (err instanceof HttpError && err.status === 429) {
      throw new HttpError(429, limitedMessage(err.message, r.response.headers.get('Retry-After')), err.fields);
    }
    throw err;
  }
}
