// Multipart uploads that survive a reload: what the browser needs to go on with an upload (the
// video it creates, the part size, the parts stored) is kept in localStorage under the file's
// name, size and modification time, the identity a file picker gives back for the same file.
// The server stays the authority on the parts: a resume asks it (GET /uploads/{id}) and sends
// only what it lacks; the parts kept here show progress before that answer, and in My videos.

const prefix = 'sunomi.upload.v1:';

/** SavedUpload is one unfinished multipart upload of this browser. */
export interface SavedUpload {
  videoId: string;
  /** The account that started it: another account signed in here must not pick it up. */
  username: string;
  title: string;
  size: number;
  partSize: number;
  /** Parts stored when last seen, 1-based. */
  parts: number[];
  savedAt: string;
}

type FileIdentity = Pick<File, 'name' | 'size' | 'lastModified'>;

/** uploadKey is where the upload of file is kept. */
export function uploadKey(file: FileIdentity): string {
  return `${prefix}${file.size}:${file.lastModified}:${file.name}`;
}

function read(key: string): SavedUpload | null {
  try {
    const v = JSON.parse(localStorage.getItem(key) ?? 'null');
    return v && typeof v.videoId === 'string' && typeof v.partSize === 'number' && Array.isArray(v.parts) ? (v as SavedUpload) : null;
  } catch {
    return null; // written by another version, or by hand
  }
}

/** savedUpload is username's unfinished upload of file, or null. */
export function savedUpload(file: FileIdentity, username: string): SavedUpload | null {
  const s = read(uploadKey(file));
  return s && s.username === username ? s : null;
}

/** saveUpload keeps (or updates) the upload of file. A full storage only loses the resume. */
export function saveUpload(file: FileIdentity, upload: Omit<SavedUpload, 'savedAt'>): void {
  try {
    localStorage.setItem(uploadKey(file), JSON.stringify({ ...upload, savedAt: new Date().toISOString() }));
  } catch {
    /* quota or private mode: the upload goes on, only not across reloads */
  }
}

/** forgetUpload drops the upload of file (finished, or gone from the server). */
export function forgetUpload(file: FileIdentity): void {
  localStorage.removeItem(uploadKey(file));
}

/** savedUploads lists every kept upload by video id. */
export function savedUploads(): Map<string, SavedUpload> {
  const out = new Map<string, SavedUpload>();
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    const s = key?.startsWith(prefix) ? read(key) : null;
    if (s) out.set(s.videoId, s);
  }
  return out;
}

/** forgetVideoUpload drops whatever upload of the video is kept (the video was discarded). */
export function forgetVideoUpload(videoId: string): void {
  const keys: string[] = [];
  for (let i = 0; i < localStorage.length; i++) {
    const key = localStorage.key(i);
    if (key?.startsWith(prefix) && read(key)?.videoId === videoId) keys.push(key);
  }
  for (const key of keys) localStorage.removeItem(key);
}
