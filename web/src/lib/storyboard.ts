import { useEffect, useState } from 'react';
import type { CSSProperties } from 'react';

/** One storyboard cue: the sprite region (x, y, w, h in pixels) of image url shown from start to end (seconds). */
export interface StoryboardCue {
  start: number;
  end: number;
  /** The image, resolved against the WebVTT file's URL (query string kept). */
  url: string;
  x: number;
  y: number;
  /** 0 when the cue names a whole image (no #xywh fragment). */
  w: number;
  h: number;
  /** The size of the whole sprite sheet, as far as its cues reach (for scaling a region to any box). */
  sheetWidth: number;
  sheetHeight: number;
}

/** parseTimestamp reads a WebVTT timestamp, [hh:]mm:ss.ttt, into seconds (NaN when malformed). */
export function parseTimestamp(s: string): number {
  const m = /^(?:(\d+):)?(\d{1,2}):(\d{1,2})(?:[.,](\d{1,3}))?$/.exec(s.trim());
  if (!m) return NaN;
  const [, h = '0', min, sec, frac = '0'] = m;
  return Number(h) * 3600 + Number(min) * 60 + Number(sec) + Number(frac.padEnd(3, '0')) / 1000;
}

/** parseXYWH reads a media fragment's `xywh=[pixel:]x,y,w,h` (null when absent or malformed). */
export function parseXYWH(fragment: string): { x: number; y: number; w: number; h: number } | null {
  for (const part of fragment.replace(/^#/, '').split('&')) {
    const m = /^xywh=(?:pixel:)?(\d+),(\d+),(\d+),(\d+)$/.exec(part.trim());
    if (m) {
      const [x, y, w, h] = m.slice(1).map(Number);
      if (w > 0 && h > 0) return { x, y, w, h };
    }
  }
  return null;
}

function baseHref(): string {
  return typeof document !== 'undefined' ? document.baseURI : 'http://localhost/';
}

/**
 * resolveRelative resolves ref (without its #fragment) against the WebVTT file's URL. A relative ref
 * without a query of its own inherits the WebVTT URL's query, so that a ?token= for a private video
 * reaches the image too.
 */
export function resolveRelative(ref: string, vttUrl: string, base = baseHref()): string {
  const vtt = new URL(vttUrl, base);
  const u = new URL(ref, vtt);
  const relative = !/^[a-z][a-z0-9+.-]*:/i.test(ref) && !ref.startsWith('/');
  if (relative && !u.search && vtt.search) u.search = vtt.search;
  u.hash = '';
  return u.href;
}

/** parseStoryboard reads a storyboard WebVTT file whose cues are `image#xywh=x,y,w,h` sprite regions. */
export function parseStoryboard(text: string, vttUrl: string, base = baseHref()): StoryboardCue[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r\n|\r|\n/);
  if (!/^WEBVTT(?:[ \t]|$)/.test(lines[0] ?? '')) return [];
  const cues: StoryboardCue[] = [];
  for (let i = 1; i < lines.length; i++) {
    const line = lines[i];
    if (!line.includes('-->')) continue;
    const [from, rest = ''] = line.split('-->');
    const start = parseTimestamp(from);
    const end = parseTimestamp(rest.trim().split(/\s+/)[0] ?? '');
    const payload = (lines[i + 1] ?? '').trim();
    if (!isFinite(start) || !isFinite(end) || end < start || !payload) continue;
    i++;
    const hash = payload.indexOf('#');
    const ref = hash >= 0 ? payload.slice(0, hash) : payload;
    const xywh = hash >= 0 ? parseXYWH(payload.slice(hash + 1)) : null;
    let url: string;
    try {
      url = resolveRelative(ref, vttUrl, base);
    } catch {
      continue;
    }
    cues.push({ start, end, url, ...(xywh ?? { x: 0, y: 0, w: 0, h: 0 }), sheetWidth: 0, sheetHeight: 0 });
  }
  // Each sheet is as large as its cues reach.
  const sheets = new Map<string, { w: number; h: number }>();
  for (const c of cues) {
    const s = sheets.get(c.url) ?? { w: 0, h: 0 };
    sheets.set(c.url, { w: Math.max(s.w, c.x + c.w), h: Math.max(s.h, c.y + c.h) });
  }
  for (const c of cues) {
    const s = sheets.get(c.url)!;
    c.sheetWidth = s.w;
    c.sheetHeight = s.h;
  }
  return cues;
}

/** cueAt finds the cue shown at time t (the first before the start, the last past the end). */
export function cueAt(cues: StoryboardCue[], t: number): StoryboardCue | undefined {
  if (cues.length === 0) return undefined;
  let lo = 0;
  let hi = cues.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >> 1;
    if (cues[mid].start <= t) lo = mid;
    else hi = mid - 1;
  }
  return cues[lo];
}

/** pickFrames chooses n cues spread evenly over the video (all of them when there are fewer). */
export function pickFrames(cues: StoryboardCue[], n: number): StoryboardCue[] {
  if (cues.length <= n) return cues;
  return Array.from({ length: n }, (_, k) => cues[Math.floor(((k + 0.5) * cues.length) / n)]);
}

const cssUrl = (u: string) => `url("${u.replace(/["\\\n]/g, (c) => encodeURIComponent(c))}")`;

/** spritePixels shows a cue's region at its own size (a box of cue.w × cue.h pixels). */
export function spritePixels(cue: StoryboardCue): CSSProperties {
  if (cue.w === 0) return { backgroundImage: cssUrl(cue.url), backgroundSize: 'cover', backgroundPosition: 'center' };
  return {
    width: cue.w,
    height: cue.h,
    backgroundImage: cssUrl(cue.url),
    backgroundRepeat: 'no-repeat',
    backgroundPosition: `${-cue.x}px ${-cue.y}px`,
  };
}

/** spriteFill shows a cue's region scaled to fill a box of any size (of the cue's aspect ratio). */
export function spriteFill(cue: StoryboardCue): CSSProperties {
  if (cue.w === 0) return { backgroundImage: cssUrl(cue.url), backgroundSize: 'cover', backgroundPosition: 'center' };
  // A percentage position p aligns the image's p% point with the box's: p = x / (sheet − w).
  const pct = (pos: number, size: number, sheet: number) => (sheet > size ? (pos / (sheet - size)) * 100 : 0);
  return {
    backgroundImage: cssUrl(cue.url),
    backgroundRepeat: 'no-repeat',
    backgroundSize: `${(cue.sheetWidth / cue.w) * 100}% ${(cue.sheetHeight / cue.h) * 100}%`,
    backgroundPosition: `${pct(cue.x, cue.w, cue.sheetWidth)}% ${pct(cue.y, cue.h, cue.sheetHeight)}%`,
  };
}

const cache = new Map<string, Promise<StoryboardCue[]>>();

/** loadStoryboard fetches and parses a storyboard once per URL (a failure is forgotten, to retry later). */
export function loadStoryboard(url: string): Promise<StoryboardCue[]> {
  let p = cache.get(url);
  if (!p) {
    p = fetch(url)
      .then((r) => {
        if (!r.ok) throw new Error(`storyboard: HTTP ${r.status}`);
        return r.text();
      })
      .then((text) => parseStoryboard(text, url));
    p.catch(() => cache.delete(url));
    cache.set(url, p);
  }
  return p;
}

/** clearStoryboardCache forgets every loaded storyboard (for tests). */
export function clearStoryboardCache() {
  cache.clear();
}

/** useStoryboard loads the storyboard at url once enabled (and stays loaded); undefined until then. */
export function useStoryboard(url: string | undefined, enabled = true): StoryboardCue[] | undefined {
  const [loaded, setLoaded] = useState<{ url: string; cues: StoryboardCue[] }>();
  const want = enabled || loaded?.url === url;
  useEffect(() => {
    if (!url || !want || loaded?.url === url) return;
    let live = true;
    loadStoryboard(url).then(
      (cues) => live && setLoaded({ url, cues }),
      () => live && setLoaded({ url, cues: [] }),
    );
    return () => {
      live = false;
    };
  }, [url, want, loaded?.url]);
  return url && loaded && loaded.url === url ? loaded.cues : undefined;
}

/** prefersReducedMotion reports the user's wish for less motion. */
export function prefersReducedMotion(): boolean {
  return typeof window !== 'undefined' && typeof window.matchMedia === 'function' && window.matchMedia('(prefers-reduced-motion: reduce)').matches;
}
