import { describe, expect, it } from 'vitest';
import { avatarSide, centred, squareCrop } from './crop';

describe('squareCrop', () => {
  it('centres the largest square at zoom 1', () => {
    expect(squareCrop(400, 300, centred)).toEqual({ sx: 50, sy: 0, size: 300 });
    expect(squareCrop(300, 400, centred)).toEqual({ sx: 0, sy: 50, size: 300 });
  });

  it('zooms in and slides within the image', () => {
    expect(squareCrop(400, 300, { zoom: 2, x: 0, y: 1 })).toEqual({ sx: 0, sy: 150, size: 150 });
    expect(squareCrop(400, 300, { zoom: 2, x: 1, y: 0 })).toEqual({ sx: 250, sy: 0, size: 150 });
  });

  it('never leaves the image', () => {
    expect(squareCrop(400, 300, { zoom: 0.5, x: 7, y: -3 })).toEqual({ sx: 100, sy: 0, size: 300 });
  });

  it('uploads at most 512 pixels a side and never upscales', () => {
    expect(avatarSide(3000)).toBe(512);
    expect(avatarSide(96)).toBe(96);
    expect(avatarSide(0.2)).toBe(1);
  });
});
