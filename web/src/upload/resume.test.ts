import { afterEach, describe, expect, it } from 'vitest';
import { forgetUpload, forgetVideoUpload, saveUpload, savedUpload, savedUploads, uploadKey } from './resume';

const file = { name: 'clip.mp4', size: 20_000_000, lastModified: 1_700_000_000_000 };
const upload = { videoId: 'vidRESUME01', username: 'ann', title: 'Clip', size: file.size, partSize: 5 << 20, parts: [1, 2] };

afterEach(() => localStorage.clear());

describe('saved uploads', () => {
  it('finds an upload by the file’s name, size and modification time, for its account only', () => {
    saveUpload(file, upload);
    expect(savedUpload({ ...file }, 'ann')).toMatchObject(upload);
    expect(savedUpload(file, 'bob')).toBeNull();
    expect(savedUpload({ ...file, lastModified: file.lastModified + 1 }, 'ann')).toBeNull();
    expect(savedUpload({ ...file, size: file.size - 1 }, 'ann')).toBeNull();
    expect(savedUpload({ ...file, name: 'other.mp4' }, 'ann')).toBeNull();
  });

  it('updates, lists and forgets', () => {
    saveUpload(file, upload);
    saveUpload(file, { ...upload, parts: [1, 2, 3] });
    expect(savedUpload(file, 'ann')?.parts).toEqual([1, 2, 3]);
    expect([...savedUploads().keys()]).toEqual(['vidRESUME01']);
    forgetUpload(file);
    expect(savedUpload(file, 'ann')).toBeNull();
    saveUpload(file, upload);
    forgetVideoUpload('vidRESUME01');
    expect(savedUploads().size).toBe(0);
  });

  it('ignores what it cannot read', () => {
    localStorage.setItem(uploadKey(file), '{not json');
    expect(savedUpload(file, 'ann')).toBeNull();
    localStorage.setItem(uploadKey(file), JSON.stringify({ videoId: 3 }));
    expect(savedUploads().size).toBe(0);
  });
});
