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
