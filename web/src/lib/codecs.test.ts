import { describe, expect, it } from 'vitest';
import { av1Fallback, videoCodecName } from './codecs';

describe('videoCodecName', () => {
  it('names the picture codec of a CODECS attribute or of hls.js videoCodec', () => {
    expect(videoCodecName('av01.0.08M.08,mp4a.40.2')).toBe('AV1');
    expect(videoCodecName('avc1.64001f,mp4a.40.2')).toBe('H.264');
    expect(videoCodecName('mp4a.40.2, avc3.42E01E')).toBe('H.264');
    expect(videoCodecName('hvc1.1.6.L93.B0')).toBe('HEVC');
    expect(videoCodecName('vp09.00.10.08')).toBe('VP9');
    expect(videoCodecName('AV01.0.04M.08')).toBe('AV1');
  });

  it('names nothing for audio only, unknown or missing codecs', () => {
    expect(videoCodecName('mp4a.40.2')).toBeUndefined();
    expect(videoCodecName('theora')).toBeUndefined();
    expect(videoCodecName('')).toBeUndefined();
    expect(videoCodecName(undefined)).toBeUndefined();
  });
});

describe('av1Fallback', () => {
  // hls.js sorts levels by height, then codec.
  const ladder = [{ videoCodec: 'avc1.64001e' }, { videoCodec: 'av01.0.04M.08' }, { videoCodec: 'avc1.64001f' }, { videoCodec: 'av01.0.05M.08' }];

  it('drops every AV1 level, highest index first, when an AV1 level failed', () => {
    expect(av1Fallback(ladder, 3)).toEqual([3, 1]);
    expect(av1Fallback(ladder, 1)).toEqual([3, 1]);
  });

  it('keeps the ladder when an H.264 level failed, or when AV1 is all there is', () => {
    expect(av1Fallback(ladder, 0)).toEqual([]);
    expect(av1Fallback([{ videoCodec: 'av01.0.04M.08' }], 0)).toEqual([]);
    expect(av1Fallback(ladder, -1)).toEqual([]);
  });
});
