// Square avatars cut in the browser: the viewer picks the square with a zoom and a position, a
// canvas draws it, and only the square is uploaded (smaller, and the server keeps what it gets).

/** Crop places a square on an image: zoom 1 is the largest square that fits, x and y (0–1) slide it across the room left over. */
export interface Crop {
  zoom: number;
  x: number;
  y: number;
}

export const centred: Crop = { zoom: 1, x: 0.5, y: 0.5 };

/** squareCrop is the source square of crop on an image of width × height pixels. */
export function squareCrop(width: number, height: number, crop: Crop): { sx: number; sy: number; size: number } {
  const size = Math.min(width, height) / Math.max(1, crop.zoom);
  const clamp = (v: number) => Math.min(1, Math.max(0, v));
  return { sx: (width - size) * clamp(crop.x), sy: (height - size) * clamp(crop.y), size };
}

/** avatarSide is the side of the uploaded square: the crop's own pixels, at most 512 (never upscaled). */
export function avatarSide(size: number, max = 512): number {
  return Math.max(1, Math.min(max, Math.round(size)));
}

/** drawCrop paints crop of img onto canvas, filling it. */
export function drawCrop(canvas: HTMLCanvasElement, img: HTMLImageElement, crop: Crop): void {
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const { sx, sy, size } = squareCrop(img.naturalWidth, img.naturalHeight, crop);
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.drawImage(img, sx, sy, size, size, 0, 0, canvas.width, canvas.height);
}

/** cropToSquare renders crop of img as a square PNG of avatarSide pixels. */
export function cropToSquare(img: HTMLImageElement, crop: Crop): Promise<Blob> {
  const canvas = document.createElement('canvas');
  const side = avatarSide(squareCrop(img.naturalWidth, img.naturalHeight, crop).size);
  canvas.width = canvas.height = side;
  drawCrop(canvas, img, crop);
  return new Promise((resolve, reject) => canvas.toBlob((b) => (b ? resolve(b) : reject(new Error('this browser could not draw the picture'))), 'image/png'));
}

/** loadImage decodes a picture file the viewer chose; it rejects what the browser cannot read as an image. */
export function loadImage(file: Blob): Promise<HTMLImageElement> {
  const url = URL.createObjectURL(file);
  return new Promise((resolve, reject) => {
    const img = new Image();
    img.onload = () => {
      URL.revokeObjectURL(url);
      resolve(img);
    };
    img.onerror = () => {
      URL.revokeObjectURL(url);
      reject(new Error('this file is not a picture this browser can read'));
    };
    img.src = url;
  });
}
