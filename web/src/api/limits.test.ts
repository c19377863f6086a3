import { describe, expect, it } from 'vitest';
import { HttpError } from './client';
import { limitedMessage, sentence, unwrapLimited, waitWords } from './limits';

describe('rate-limit sentences', () => {
  it('says waits in the largest unit that fits', () => {
    expect(waitWords(1)).toBe('1 second');
    expect(waitWords(45)).toBe('45 seconds');
    expect(waitWords(3540)).toBe('59 minutes');
    expect(waitWords(7200)).toBe('2 hours');
  });

  it('makes sentences', () => {
    expect(sentence('you may not')).toBe('You may not.');
    expect(sentence('Done!')).toBe('Done!');
  });

  it('rewrites the API message with the Retry-After wait', () => {
    expect(limitedMessage('you may make at most 10 reports an hour; try again in 3540 seconds', '3540')).toBe(
      'You may make at most 10 reports an hour. Try again in 59 minutes.',
    );
    expect(limitedMessage('slow down', null)).toBe('Slow down. Try again later.');
  });

  it('throws the rewritten message for a 429 only', () => {
    const limited = new Response('{}', { status: 429, headers: { 'Retry-After': '120' } });
    const err = (() => {
      try {
        unwrapLimited({ error: { error: { code: 'rate_limited', message: 'too many reports; try again in 120 seconds' } }, response: limited });
      } catch (e) {
        return e as HttpError;
      }
    })();
    expect(err).toBeInstanceOf(HttpError);
    expect(err?.message).toBe('Too many reports. Try again in 2 minutes.');
    expect(() => unwrapLimited({ error: { error: { code: 'invalid', message: 'bad reason' } }, response: new Response('{}', { status: 400 }) })).toThrow(
      'bad reason',
    );
  });
});
