import sharp from 'sharp';
import type { RawImage } from './image.js';

/** How an image is brought to the model's input size. */
export type ResizePolicy = 'squash' | 'center-crop' | 'pad';
export const RESIZE_POLICIES: readonly ResizePolicy[] = ['squash', 'center-crop', 'pad'];

/** The model's view of an image: its input size, channel count and resize policy. */
export interface ImageSpec {
  height: number;
  width: number;
  channels: 1 | 3;
  resize: ResizePolicy;
}

export interface Decoded {
  image: RawImage;
  /** Size of the stored image after EXIF orientation, before resizing. */
  originalWidth: number;
  originalHeight: number;
}

const FIT: Record<ResizePolicy, 'fill' | 'cover' | 'contain'> = {
  squash: 'fill',
  'center-crop': 'cover',
  pad: 'contain',
};

// Decoding happens in a pool of processes (decode-pool.ts), one image at a time each: each sharp call stays on one
// libvips thread, and nothing is cached between images.
sharp.concurrency(1);
sharp.cache(false);

/**
 * Decode an encoded image (JPEG, PNG, WebP, GIF's first frame, TIFF, AVIF) with sharp:
 * EXIF orientation applied, alpha dropped, grayscale or colour normalised to `spec.channels`,
 * 16-bit reduced to 8-bit, resized to the spec by its policy. Throws a plain Error with a short
 * reason on undecodable input; callers attach the file name.
 */
export async function decodeImage(bytes: Uint8Array, spec: ImageSpec): Promise<Decoded> {
  if (bytes.length === 0) throw new Error('empty file (0 bytes)');
  const input = sharp(bytes, { failOn: 'warning', pages: 1, limitInputPixels: 268402689 });
  let meta: sharp.Metadata;
  try {
    meta = await input.metadata();
  } catch (err) {
    throw new Error(shortReason(err));
  }
  if (!meta.width || !meta.height) throw new Error('image has no size');
  const swap = (meta.orientation ?? 1) >= 5;
  const originalWidth = swap ? meta.height : meta.width;
  const originalHeight = swap ? meta.width : meta.height;
  // Colour sources become sRGB; a single channel is then taken with PIL's luma (as `convert('L')` does).
  const grayscale = meta.space === 'b-w' || meta.space === 'grey16' || (meta.channels ?? 3) <= 2;
  let pipeline = input
    .rotate()
    .removeAlpha()
    .toColourspace(grayscale ? 'b-w' : 'srgb');
  pipeline = pipeline.resize(spec.width, spec.height, {
    fit: FIT[spec.resize],
    position: 'centre',
    background: { r: 0, g: 0, b: 0 },
    kernel: 'lanczos3',
  });
  let out: { data: Buffer; info: sharp.OutputInfo };
  try {
    out = await pipeline.raw({ depth: 'uchar' }).toBuffer({ resolveWithObject: true });
  } catch (err) {
    throw new Error(shortReason(err));
  }
  let data = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  if (out.info.channels !== spec.channels) data = fixChannels(data, out.info.channels, spec.channels);
  return {
    image: { data, height: spec.height, width: spec.width, channels: spec.channels },
    originalWidth,
    originalHeight,
  };
}

/** Read only an image's header: format and size (after EXIF orientation). */
export async function probeImage(bytes: Uint8Array): Promise<{ format: string; width: number; height: number; channels: number }> {
  if (bytes.length === 0) throw new Error('empty file (0 bytes)');
  try {
    const meta = await sharp(bytes, { pages: 1 }).metadata();
    const swap = (meta.orientation ?? 1) >= 5;
    return {
      format: meta.format ?? 'unknown',
      width: (swap ? meta.height : meta.width) ?? 0,
      height: (swap ? meta.width : meta.height) ?? 0,
      channels: meta.channels ?? 0,
    };
  } catch (err) {
    throw new Error(shortReason(err));
  }
}

function fixChannels(data: Uint8Array, from: number, to: 1 | 3): Uint8Array {
  const n = data.length / from;
  const out = new Uint8Array(n * to);
  for (let i = 0; i < n; i++) {
    if (to === 1) {
      // PIL's ITU-R 601-2 luma: L = R * 299/1000 + G * 587/1000 + B * 114/1000, in fixed point.
      const j = i * from;
      out[i] = from >= 3 ? (data[j]! * 19595 + data[j + 1]! * 38470 + data[j + 2]! * 7471 + 0x8000) >> 16 : data[j]!;
    } else {
      const v = data[i * from]!;
      const hasColour = from >= 3;
      out[i * 3] = v;
      out[i * 3 + 1] = hasColour ? data[i * from + 1]! : v;
      out[i * 3 + 2] = hasColour ? data[i * from + 2]! : v;
    }
  }
  return out;
}

/** Turn sharp/libvips messages into one short, readable reason. */
export function shortReason(err: unknown): string {
  const msg = err instanceof Error ? err.message : String(err);
  if (/unsupported image format/i.test(msg)) return 'not an image (unsupported or unrecognised format)';
  if (/premature end|truncated|unexpected end|corrupt|Invalid SOS|not enough data|read error/i.test(msg)) {
    return `truncated or corrupt image data (${firstLine(msg)})`;
  }
  return firstLine(msg);
}

function firstLine(msg: string): string {
  return msg.split('\n')[0]!.trim();
}

/** Bring pixels already in memory (e.g. an IDX record) to the spec: channel count, then size by the policy. */
export async function conformImage(image: RawImage, spec: ImageSpec): Promise<RawImage> {
  if (image.height === spec.height && image.width === spec.width) {
    if (image.channels === spec.channels) return image;
    return { ...image, data: fixChannels(image.data, image.channels, spec.channels), channels: spec.channels };
  }
  const out = await sharp(image.data, { raw: { width: image.width, height: image.height, channels: image.channels } })
    .resize(spec.width, spec.height, { fit: FIT[spec.resize], position: 'centre', background: { r: 0, g: 0, b: 0 }, kernel: 'lanczos3' })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  let data = new Uint8Array(out.data.buffer, out.data.byteOffset, out.data.byteLength);
  if (out.info.channels !== spec.channels) data = fixChannels(data, out.info.channels, spec.channels);
  return { data, height: spec.height, width: spec.width, channels: spec.channels };
}
