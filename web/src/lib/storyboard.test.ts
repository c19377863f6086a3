import { describe, expect, it } from 'vitest';
import { cueAt, parseStoryboard, parseTimestamp, parseXYWH, pickFrames, resolveRelative, spriteFill, spritePixels } from './storyboard';

// As the API serves a private video's storyboard: the cues' image references carry its token.
const VTT = `WEBVTT

00:00:00.000 --> 00:00:02.000
storyboard.jpg?token=abc#xywh=0,0,160,90

00:00:02.000 --> 00:00:04.500 align:start
storyboard.jpg?token=abc#xywh=160,0,160,90

1
00:04.500 --> 01:00:06.250
storyboard.jpg?token=abc#xywh=pixel:0,90,160,90
`;

describe('parseStoryboard', () => {
  const cues = parseStoryboard(VTT, '/media/vid/hls/storyboard.vtt?token=abc', 'https://sunomi.test/watch/vid');

  it('reads cue times, including hours, short timestamps and cue settings', () => {
    expect(cues.map((c) => [c.start, c.end])).toEqual([
      [0, 2],
      [2, 4.5],
      [4.5, 3606.25],
    ]);
  });

  it('reads the xywh fragment and the sheet size', () => {
    expect(cues.map((c) => [c.x, c.y, c.w, c.h])).toEqual([
      [0, 0, 160, 90],
      [160, 0, 160, 90],
      [0, 90, 160, 90],
    ]);
    expect(cues[0]).toMatchObject({ sheetWidth: 320, sheetHeight: 180 });
  });

  it('resolves the image against the WebVTT URL, keeping the token', () => {
    expect(cues[0].url).toBe('https://sunomi.test/media/vid/hls/storyboard.jpg?token=abc');
  });

  it('handles CRLF, a BOM, and skips malformed cues; a file that is not WebVTT has none', () => {
    const text = '\uFEFFWEBVTT\r\n\r\nNOTE hi\r\n\r\n00:00.000 --> 00:01.000\r\na.jpg#xywh=0,0,10,10\r\n\r\nbad --> 00:02.000\r\nb.jpg\r\n';
    const got = parseStoryboard(text, 'https://x.test/s/sb.vtt', 'https://x.test/');
    expect(got).toHaveLength(1);
    expect(got[0]).toMatchObject({ start: 0, end: 1, url: 'https://x.test/s/a.jpg', w: 10 });
    expect(parseStoryboard('<html>', 'https://x.test/sb.vtt')).toEqual([]);
  });
});

describe('storyboard helpers', () => {
  it('parses timestamps and fragments', () => {
    expect(parseTimestamp('01:02:03.5')).toBe(3723.5);
    expect(parseTimestamp('00:07.040')).toBeCloseTo(7.04);
    expect(parseTimestamp('7s')).toBeNaN();
    expect(parseXYWH('#xywh=1,2,3,4')).toEqual({ x: 1, y: 2, w: 3, h: 4 });
    expect(parseXYWH('t=5&xywh=pixel:1,2,3,4')).toEqual({ x: 1, y: 2, w: 3, h: 4 });
    expect(parseXYWH('xywh=percent:1,2,3,4')).toBeNull();
    expect(parseXYWH('xywh=1,2,0,4')).toBeNull();
  });

  it('resolves relative references, keeping or inheriting the query', () => {
    const vtt = 'https://cdn.test/media/v/storyboard.vtt?token=t%2B1';
    expect(resolveRelative('storyboard.jpg?token=own', vtt)).toBe('https://cdn.test/media/v/storyboard.jpg?token=own');
    expect(resolveRelative('storyboard.jpg', vtt)).toBe('https://cdn.test/media/v/storyboard.jpg?token=t%2B1');
    expect(resolveRelative('../sprites/1.jpg', vtt)).toBe('https://cdn.test/media/sprites/1.jpg?token=t%2B1');
    expect(resolveRelative('/other.jpg', vtt)).toBe('https://cdn.test/other.jpg');
    expect(resolveRelative('https://img.test/a.jpg', vtt)).toBe('https://img.test/a.jpg');
    expect(resolveRelative('a.jpg', 'storyboard.vtt?token=z', 'https://s.test/media/v/')).toBe('https://s.test/media/v/a.jpg?token=z');
  });

  it('finds the cue at a time and picks frames', () => {
    const cues = parseStoryboard(VTT, 'https://s.test/sb.vtt');
    expect(cueAt(cues, -1)).toBe(cues[0]);
    expect(cueAt(cues, 1.99)).toBe(cues[0]);
    expect(cueAt(cues, 2)).toBe(cues[1]);
    expect(cueAt(cues, 5)).toBe(cues[2]);
    expect(cueAt(cues, 1e6)).toBe(cues[2]);
    expect(cueAt([], 1)).toBeUndefined();
    expect(pickFrames(cues, 5)).toEqual(cues);
    const many = Array.from({ length: 100 }, (_, i) => ({ ...cues[0], start: i }));
    expect(pickFrames(many, 4).map((c) => c.start)).toEqual([12, 37, 62, 87]);
  });

  it('styles a sprite region', () => {
    const [, second, third] = parseStoryboard(VTT, 'https://s.test/sb.vtt');
    expect(spritePixels(second)).toMatchObject({
      width: 160,
      height: 90,
      backgroundPosition: '-160px 0px',
      backgroundImage: 'url("https://s.test/storyboard.jpg?token=abc")',
    });
    expect(spriteFill(third)).toMatchObject({ backgroundSize: '200% 200%', backgroundPosition: '0% 100%' });
  });
});
