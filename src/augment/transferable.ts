/** Moving images between threads: one transferable ArrayBuffer per image. */
import type { RawImage } from '../data/image.js';

export type Shape = [height: number, width: number, channels: 1 | 3];

export interface Transferable {
  buffers: ArrayBuffer[];
  shapes: Shape[];
}

/** True when the typed array spans its whole ArrayBuffer (so the buffer can be transferred as is). */
function ownsBuffer(a: Uint8Array): boolean {
  return a.byteOffset === 0 && a.byteLength === a.buffer.byteLength && a.buffer instanceof ArrayBuffer;
}

/**
 * One ArrayBuffer per image, ready for postMessage's transfer list. With `copy` (the default) every
 * image is copied, so the caller's images stay usable; without it, images that own their whole buffer
 * are handed over as is (and become detached in the sending thread) and only the rest are copied.
 */
export function toTransferable(images: readonly RawImage[], copy = true): Transferable {
  const buffers: ArrayBuffer[] = [];
  const shapes: Shape[] = [];
  const seen = new Set<ArrayBufferLike>();
  for (const im of images) {
    const own = !copy && ownsBuffer(im.data) && !seen.has(im.data.buffer);
    const buf = own ? (im.data.buffer as ArrayBuffer) : (im.data.slice().buffer as ArrayBuffer);
    seen.add(buf);
    buffers.push(buf);
    shapes.push([im.height, im.width, im.channels]);
  }
  return { buffers, shapes };
}

export function fromTransferable(t: Transferable): RawImage[] {
  return t.buffers.map((buf, k) => {
    const [height, width, channels] = t.shapes[k]!;
    return { data: new Uint8Array(buf), height, width, channels };
  });
}
