/** A decoded image: 8-bit pixels, row-major height × width × channels (HWC). */
export interface RawImage {
  data: Uint8Array;
  height: number;
  width: number;
  channels: 1 | 3;
}

export function makeImage(height: number, width: number, channels: 1 | 3, data?: Uint8Array): RawImage {
  const size = height * width * channels;
  if (data && data.length !== size) {
    throw new Error(`image data has ${data.length} bytes, expected ${height}×${width}×${channels} = ${size}`);
  }
  return { data: data ?? new Uint8Array(size), height, width, channels };
}

export function cloneImage(img: RawImage): RawImage {
  return { data: new Uint8Array(img.data), height: img.height, width: img.width, channels: img.channels };
}

/** Split packed N×H×W×C bytes into images (views, no copy). */
export function unpackImages(pixels: Uint8Array, count: number, spec: { height: number; width: number; channels: 1 | 3 }): RawImage[] {
  const size = spec.height * spec.width * spec.channels;
  return Array.from({ length: count }, (_, i) => ({
    data: pixels.subarray(i * size, (i + 1) * size),
    height: spec.height,
    width: spec.width,
    channels: spec.channels,
  }));
}

/** Images of one size packed as N×H×W×C bytes. */
export function packImages(images: RawImage[]): Uint8Array {
  const size = images[0]?.data.length ?? 0;
  const out = new Uint8Array(images.length * size);
  images.forEach((img, i) => out.set(img.data, i * size));
  return out;
}
