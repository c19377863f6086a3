import type { HlsConfig } from 'hls.js';

/** The codec families a ladder's pictures may come in, by the names viewers know. */
export type VideoCodec = 'AV1' | 'H.264' | 'HEVC' | 'VP9';

// RFC 6381 sample entries (the part of a CODECS item before its first dot).
const families: Record<string, VideoCodec> = {
  av01: 'AV1',
  avc1: 'H.264',
  avc3: 'H.264',
  hvc1: 'HEVC',
  hev1: 'HEVC',
  vp09: 'VP9',
};

/**
 * videoCodecName names the picture codec of a variant from its CODECS attribute (all of it, or
 * hls.js's videoCodec): undefined when it names none we know, audio only for one.
 */
export function videoCodecName(codecs: string | undefined): VideoCodec | undefined {
  for (const item of (codecs ?? '').split(',')) {
    const family = families[item.trim().split('.')[0].toLowerCase()];
    if (family) return family;
  }
  return undefined;
}

/**
 * preferAV1 makes hls.js start on, and adapt within, the AV1 variants when the browser can play
 * them. hls.js drops the variants MediaSource cannot decode (isTypeSupported of their CODECS) when
 * it parses the master playlist; of those left it picks a start codec set by this preference and
 * its automatic choice stays in that set. Where AV1 is not playable only H.264 is left, and the
 * preference matches nothing and changes nothing.
 */
export const preferAV1: Pick<HlsConfig, 'videoPreference'> = { videoPreference: { videoCodec: 'av01' } };

/**
 * av1Fallback is what to do when a level failed to play: if it is AV1 and some level is not, the
 * indexes of every AV1 level, highest first (the order to remove them in, so that each index
 * still means the same level), leaving the ladder to H.264; otherwise nothing.
 */
export function av1Fallback(levels: readonly { videoCodec?: string }[], failed: number): number[] {
  if (videoCodecName(levels[failed]?.videoCodec) !== 'AV1') return [];
  const av1 = levels.flatMap((l, i) => (videoCodecName(l.videoCodec) === 'AV1' ? [i] : []));
  return av1.length === levels.length ? [] : av1.reverse();
}
