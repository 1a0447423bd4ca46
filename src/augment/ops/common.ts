/**
 * Shared helpers for the functional augmentation ops.
 *
 * Every op takes a RawImage (uint8, HWC, 1 or 3 channels), never mutates it, and
 * returns a new RawImage with the same dtype and channel count.
 */
import { makeImage, type RawImage } from '../../data/image.js';

/** A fill colour: one value for every channel, or one value per channel. */
export type Fill = number | readonly number[];

export function checkImage(img: RawImage, op: string): void {
  const { height, width, channels, data } = img;
  if (!(data instanceof Uint8Array)) throw new TypeError(`${op}: image data must be a Uint8Array`);
  if (channels !== 1 && channels !== 3) throw new RangeError(`${op}: images must have 1 or 3 channels, got ${channels}`);
  if (!Number.isInteger(height) || !Number.isInteger(width) || height < 1 || width < 1) {
    throw new RangeError(`${op}: bad image size ${height}×${width}`);
  }
  if (data.length !== height * width * channels) {
    throw new RangeError(`${op}: image data has ${data.length} bytes, expected ${height}×${width}×${channels}`);
  }
}

/** An empty (zeroed) image with the same shape as `img`. */
export function blankLike(img: RawImage): RawImage {
  return makeImage(img.height, img.width, img.channels);
}

export function copyImage(img: RawImage): RawImage {
  return makeImage(img.height, img.width, img.channels, img.data.slice());
}

/**
 * Per-channel fill bytes, as torchvision's PIL path (`_parse_fill`) casts them: `int(x)`
 * (truncation); we additionally clamp to 0..255.
 */
export function fillBytes(fill: Fill, channels: 1 | 3, op: string): Uint8Array {
  const out = new Uint8Array(channels);
  if (typeof fill === 'number') {
    out.fill(clampByte(Math.trunc(fill)));
  } else {
    if (fill.length !== channels) {
      throw new RangeError(`${op}: fill has ${fill.length} values but the image has ${channels} channels`);
    }
    for (let c = 0; c < channels; c++) out[c] = clampByte(Math.trunc(fill[c]!));
  }
  return out;
}

/** Fill a whole image buffer with a per-channel colour. */
export function paint(data: Uint8Array, fill: Uint8Array): void {
  if (fill.length === 1 || (fill[0] === fill[1] && fill[1] === fill[2])) {
    if (fill[0] !== 0) data.fill(fill[0]!);
    return;
  }
  const f0 = fill[0]!;
  const f1 = fill[1]!;
  const f2 = fill[2]!;
  for (let i = 0; i < data.length; i += 3) {
    data[i] = f0;
    data[i + 1] = f1;
    data[i + 2] = f2;
  }
}

export function clampByte(v: number): number {
  return v <= 0 ? 0 : v >= 255 ? 255 : v;
}

export function checkFinite(value: number, name: string, op: string): void {
  if (!Number.isFinite(value)) throw new RangeError(`${op}: ${name} must be a finite number, got ${value}`);
}
