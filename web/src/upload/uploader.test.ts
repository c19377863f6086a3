import { describe, expect, it } from 'vitest';
import { partCountOf, partRange, progressPercent, putErrorMessage, remainingParts, Uploader, type PutFn, type UploadServer } from './uploader';
import type { Upload } from '../api/client';

describe('upload math', () => {
  it('splits a file into parts, the last one shorter', () => {
    expect(partRange(1, 10, 25)).toEqual({ start: 0, end: 10 });
    expect(partRange(3, 10, 25)).toEqual({ start: 20, end: 25 });
    expect(partCountOf({ size: 25, partSize: 10 })).toBe(3);
    expect(partCountOf({ size: 25, partSize: 10, partCount: 3 })).toBe(3);
    expect(partCountOf({ size: 25 })).toBe(1);
  });
  it('lists the parts the server lacks', () => {
    expect(remainingParts(4, [{ number: 2 }, { number: 4 }])).toEqual([1, 3]);
    expect(remainingParts(2, undefined)).toEqual([1, 2]);
  });
  it('computes progress from stored and in-flight bytes, clamped', () => {
    expect(progressPercent(0, 0, 100)).toBe(0);
    expect(progressPercent(25, 12.5, 100)).toBe(37.5);
    expect(progressPercent(100, 5, 100)).toBe(100);
    expect(progressPercent(1, 0, 3)).toBe(33.3);
    expect(progressPercent(0, 0, 0)).toBe(0);
  });
});

function multipart(size: number, partSize: number, stored: number[] = []): Upload {
  return {
    videoId: 'abcdefghijk',
    method: 'multipart',
    size,
    partSize,
    partCount: Math.ceil(size / partSize),
    uploadedParts: stored.map((n) => ({ number: n, size: Math.min(partSize, size - (n - 1) * partSize) })),
    expiresAt: '2030-01-01T00:00:00Z',
  };
}

describe('Uploader', () => {
  it('puts one file with progress and ends at 100%', async () => {
    const seen: number[] = [];
    const put: PutFn = async (_url, body, onProgress) => {
      onProgress(body.size / 2);
      onProgress(body.size);
    };
    const file = new Blob([new Uint8Array(1000)]);
    const u = new Uploader({
      file,
      upload: { videoId: 'abcdefghijk', method: 'put', size: 1000, url: '/v1/blobs/x', expiresAt: '' },
      put,
      onChange: (x) => seen.push(x.percent),
    });
    await u.start();
    expect(u.state).toBe('done');
    expect(u.percent).toBe(100);
    expect(seen).toContain(50);
  });

  it('uploads only the missing parts, pauses, and resumes from what the server has', async () => {
    const size = 50;
    const stored = new Set<number>([2]);
    const putCalls: string[] = [];
    let blockPart = 4;
    let release: (() => void) | null = null;
    const server: UploadServer = {
      status: async () => multipart(size, 10, [...stored]),
      partURLs: async (_id, parts) => new Map(parts.map((n) => [n, `/part/${n}`])),
    };
    const put: PutFn = (url, body, onProgress, signal) =>
      new Promise((resolve, reject) => {
        putCalls.push(url);
        const n = Number(url.split('/').pop());
        onProgress(body.size / 2);
        const finish = () => {
          stored.add(n);
          onProgress(body.size);
          resolve();
        };
        signal.addEventListener('abort', () => reject(new DOMException('paused', 'AbortError')));
        if (n === blockPart) release = finish;
        else finish();
      });
    const u = new Uploader({ file: new Blob([new Uint8Array(size)]), upload: multipart(size, 10, [2]), server, put, concurrency: 1 });
    const first = u.start();
    await vi.waitFor(() => expect(release).not.toBeNull());
    // Parts 1 and 3 done, 2 was stored before, 4 half sent: 3.5 of 5 parts.
    expect(u.percent).toBe(70);
    expect(putCalls).not.toContain('/part/2');
    u.pause();
    await first;
    expect(u.state).toBe('paused');
    expect(u.percent).toBe(60); // the in-flight half of part 4 no longer counts
    blockPart = 0;
    await u.start();
    expect(u.state).toBe('done');
    expect(u.percent).toBe(100);
    expect(putCalls.filter((c) => c === '/part/1')).toHaveLength(1); // not sent again after resuming
    expect([...stored].sort()).toEqual([1, 2, 3, 4, 5]);
  });

  it('reports a failed part as an error that can be resumed', async () => {
    let fail = true;
    const server: UploadServer = {
      status: async () => multipart(20, 10, []),
      partURLs: async (_id, parts) => new Map(parts.map((n) => [n, `/part/${n}`])),
    };
    const put: PutFn = async () => {
      if (fail) throw new Error('the connection failed during the upload');
    };
    const u = new Uploader({ file: new Blob([new Uint8Array(20)]), upload: multipart(20, 10), server, put, concurrency: 1 });
    await u.start();
    expect(u.state).toBe('error');
    expect(u.error).toMatch(/connection failed/);
    fail = false;
    await u.start();
    expect(u.state).toBe('done');
  });
});

describe('putErrorMessage', () => {
  it("shows the storage's reason, whichever shape it comes in", () => {
    expect(putErrorMessage(413, '{"error":"this upload URL accepts at most the 10 bytes declared for it"}')).toBe(
      'this upload URL accepts at most the 10 bytes declared for it',
    );
    expect(putErrorMessage(403, '{"error":{"code":"forbidden","message":"expired"}}')).toBe('expired');
  });
  it('falls back to the status when the body says nothing readable', () => {
    expect(putErrorMessage(403, '<Error><Code>SignatureDoesNotMatch</Code></Error>')).toBe('upload failed: 403');
    expect(putErrorMessage(500, '{"error":{}}')).toBe('upload failed: 500');
  });
});
