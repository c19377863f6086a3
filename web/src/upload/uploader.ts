// Resumable uploads against the API's presigned URLs: one PUT for small files, S3-style
// multipart (parts in parallel, resumed from GET /uploads/{id}) for large ones. The progress
// counts bytes the server has acknowledged plus the bytes of parts in flight, so it never
// jumps backwards except for the in-flight share of a part that is paused or retried.
import { api, unwrap, type Upload } from '../api/client';

export interface Range {
  start: number;
  end: number; // exclusive
}

/** partRange is the byte range of part n (1-based) of a file of size bytes in parts of partSize. */
export function partRange(n: number, partSize: number, size: number): Range {
  const start = (n - 1) * partSize;
  return { start, end: Math.min(size, start + partSize) };
}

/** partCount is how many parts a multipart upload has. */
export function partCountOf(upload: Pick<Upload, 'partCount' | 'partSize' | 'size'>): number {
  if (upload.partCount) return upload.partCount;
  if (!upload.partSize) return 1;
  return Math.ceil(upload.size / upload.partSize);
}

/** remainingParts lists the parts the server does not have yet, in order. */
export function remainingParts(count: number, stored: { number: number }[] | undefined): number[] {
  const have = new Set((stored ?? []).map((p) => p.number));
  const out: number[] = [];
  for (let n = 1; n <= count; n++) if (!have.has(n)) out.push(n);
  return out;
}

/** progressPercent is the share of size done (0–100, one decimal), from stored and in-flight bytes. */
export function progressPercent(storedBytes: number, inFlightBytes: number, size: number): number {
  if (size <= 0) return 0;
  const p = ((storedBytes + inFlightBytes) / size) * 100;
  return Math.min(100, Math.max(0, Math.round(p * 10) / 10));
}

export type PutFn = (url: string, body: Blob, onProgress: (loaded: number) => void, signal: AbortSignal) => Promise<void>;

/**
 * putErrorMessage says why a PUT failed: the API answers `{"error": {"message": …}}`, the local
 * storage backend `{"error": "…"}` (e.g. 413 past the declared size); anything else gets the status.
 */
export function putErrorMessage(status: number, body: string): string {
  try {
    const err = JSON.parse(body)?.error;
    const msg = typeof err === 'string' ? err : err?.message;
    if (typeof msg === 'string' && msg !== '') return msg;
  } catch {
    /* not JSON: S3's XML, a proxy's HTML page */
  }
  return `upload failed: ${status}`;
}

/** xhrPut PUTs body to url with upload progress (fetch has no upload progress events). */
export const xhrPut: PutFn = (url, body, onProgress, signal) =>
  new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('PUT', url);
    xhr.upload.onprogress = (e) => onProgress(e.loaded);
    xhr.onload = () => {
      if (xhr.status >= 200 && xhr.status < 300) {
        onProgress(body.size);
        resolve();
      } else {
        reject(new Error(putErrorMessage(xhr.status, xhr.responseText)));
      }
    };
    xhr.onerror = () => reject(new Error('the connection failed during the upload'));
    xhr.onabort = () => reject(new DOMException('paused', 'AbortError'));
    signal.addEventListener('abort', () => xhr.abort(), { once: true });
    xhr.send(body);
  });

export interface UploadServer {
  status(videoId: string): Promise<Upload>;
  partURLs(videoId: string, parts: number[]): Promise<Map<number, string>>;
}

export const apiServer: UploadServer = {
  async status(videoId) {
    return unwrap(await api.GET('/uploads/{videoId}', { params: { path: { videoId } } }));
  },
  async partURLs(videoId, parts) {
    const r = unwrap(await api.POST('/uploads/{videoId}/parts', { params: { path: { videoId } }, body: { parts } }));
    return new Map(r.parts.map((p) => [p.number, p.url]));
  },
};

export type UploadState = 'idle' | 'uploading' | 'paused' | 'done' | 'error';

export interface UploaderOptions {
  file: Blob;
  upload: Upload;
  server?: UploadServer;
  put?: PutFn;
  concurrency?: number;
  onChange?: (u: Uploader) => void;
}

export class Uploader {
  readonly file: Blob;
  upload: Upload;
  state: UploadState = 'idle';
  error = '';
  private server: UploadServer;
  private put: PutFn;
  private concurrency: number;
  private onChange: (u: Uploader) => void;
  private stored = new Map<number, number>(); // part → bytes the server has
  private inFlight = new Map<number, number>(); // part → bytes sent so far
  private abort: AbortController | null = null;
  private fresh = true; // the URLs in upload are new (no status call needed before starting)

  constructor(o: UploaderOptions) {
    this.file = o.file;
    this.upload = o.upload;
    this.server = o.server ?? apiServer;
    this.put = o.put ?? xhrPut;
    this.concurrency = o.concurrency ?? 3;
    this.onChange = o.onChange ?? (() => {});
    for (const p of o.upload.uploadedParts ?? []) this.stored.set(p.number, p.size);
  }

  /** storedParts lists the parts the server has, in order (what a resume need not send). */
  get storedParts(): number[] {
    return [...this.stored.keys()].sort((a, b) => a - b);
  }

  get percent(): number {
    let s = 0;
    for (const v of this.stored.values()) s += v;
    let f = 0;
    for (const v of this.inFlight.values()) f += v;
    return progressPercent(s, f, this.file.size);
  }

  private emit() {
    this.onChange(this);
  }

  pause() {
    if (this.state !== 'uploading') return;
    this.state = 'paused';
    this.abort?.abort();
    this.inFlight.clear();
    this.emit();
  }

  /** start uploads what the server does not have; after a pause or an error it asks the server first. */
  async start(): Promise<void> {
    if (this.state === 'uploading' || this.state === 'done') return;
    this.state = 'uploading';
    this.error = '';
    const abort = new AbortController();
    this.abort = abort;
    this.emit();
    try {
      if (!this.fresh) {
        this.upload = await this.server.status(this.upload.videoId);
        this.stored.clear();
        for (const p of this.upload.uploadedParts ?? []) this.stored.set(p.number, p.size);
      }
      this.fresh = false;
      if (this.upload.method === 'put') await this.putWhole(abort.signal);
      else await this.putParts(abort.signal);
      if (abort.signal.aborted) return;
      this.state = 'done';
      this.emit();
    } catch (err) {
      if (abort.signal.aborted) return; // paused
      this.abort.abort();
      this.inFlight.clear();
      this.state = 'error';
      this.error = err instanceof Error ? err.message : String(err);
      this.emit();
    }
  }

  private async putWhole(signal: AbortSignal) {
    if (!this.upload.url) throw new Error('the server gave no upload URL');
    this.stored.clear();
    await this.put(
      this.upload.url,
      this.file,
      (loaded) => {
        this.inFlight.set(1, loaded);
        this.emit();
      },
      signal,
    );
    this.inFlight.delete(1);
    this.stored.set(1, this.file.size);
  }

  private async putParts(signal: AbortSignal) {
    const partSize = this.upload.partSize ?? this.file.size;
    const queue = remainingParts(partCountOf(this.upload), this.upload.uploadedParts);
    const worker = async () => {
      while (queue.length > 0 && !signal.aborted) {
        // Ask for URLs a few parts at a time: they expire, and a pause may come.
        const batch = queue.splice(0, 1);
        const urls = await this.server.partURLs(this.upload.videoId, batch);
        for (const n of batch) {
          if (signal.aborted) return;
          const url = urls.get(n);
          if (!url) throw new Error(`the server gave no URL for part ${n}`);
          const r = partRange(n, partSize, this.file.size);
          await this.put(
            url,
            this.file.slice(r.start, r.end),
            (loaded) => {
              this.inFlight.set(n, loaded);
              this.emit();
            },
            signal,
          );
          this.inFlight.delete(n);
          this.stored.set(n, r.end - r.start);
          this.emit();
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.concurrency, Math.max(queue.length, 1)) }, worker));
  }
}
