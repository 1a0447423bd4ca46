/**
 * Perceptual hashes: 256 bits per image that change little when the image is resized, re-encoded or made a little
 * brighter, so that two files of one picture are a few bits apart while two different pictures are about half of
 * them apart (on bench/check's photos, resized and re-encoded copies at most 12 bits; two different Fashion-MNIST
 * items of one class, which look much alike at 28 px, at least 48).
 */

/** The side of the grey thumbnail a hash is computed from. */
const THUMB = 32;
/** The low-frequency block of its DCT that makes the hash (16 × 16 coefficients: 256 bits). */
const BLOCK = 16;
/** 32-bit words per hash. */
export const HASH_WORDS = (BLOCK * BLOCK) / 32;

/** cos((2x + 1) u π / 2N) for u < BLOCK, x < THUMB: the rows of the DCT-II that the hash needs. */
const DCT = (() => {
  const m = new Float64Array(BLOCK * THUMB);
  for (let u = 0; u < BLOCK; u++) for (let x = 0; x < THUMB; x++) m[u * THUMB + x] = Math.cos(((2 * x + 1) * u * Math.PI) / (2 * THUMB));
  return m;
})();

/**
 * A grey THUMB × THUMB thumbnail of an image (H × W × C bytes, 1 or 3 channels), each pixel the mean of the pixels
 * under it (luma for colour, ITU-R 601-2 as PIL's `convert('L')`).
 */
export function greyThumbnail(pixels: Uint8Array, width: number, height: number, channels: number): Float64Array {
  const out = new Float64Array(THUMB * THUMB);
  for (let ty = 0; ty < THUMB; ty++) {
    const y0 = Math.floor((ty * height) / THUMB);
    const y1 = Math.max(y0 + 1, Math.floor(((ty + 1) * height) / THUMB));
    for (let tx = 0; tx < THUMB; tx++) {
      const x0 = Math.floor((tx * width) / THUMB);
      const x1 = Math.max(x0 + 1, Math.floor(((tx + 1) * width) / THUMB));
      let sum = 0;
      for (let y = y0; y < y1; y++) {
        for (let x = x0; x < x1; x++) {
          const i = (y * width + x) * channels;
          sum += channels >= 3 ? 0.299 * pixels[i]! + 0.587 * pixels[i + 1]! + 0.114 * pixels[i + 2]! : pixels[i]!;
        }
      }
      out[ty * THUMB + tx] = sum / ((y1 - y0) * (x1 - x0));
    }
  }
  return out;
}

/**
 * The pHash of an image (H × W × C bytes), with more bits than the usual 64: the 16 × 16 lowest frequencies of the
 * 2-D DCT of its grey 32 × 32 thumbnail, one bit per coefficient, set where the coefficient is above their median
 * (the DC term left out of the median). Returns the 256 bits as `HASH_WORDS` unsigned 32-bit words.
 */
export function perceptualHash(pixels: Uint8Array, width: number, height: number, channels: number): Uint32Array {
  const thumb = greyThumbnail(pixels, width, height, channels);
  // D = C · T · Cᵀ, with C the BLOCK × THUMB rows of the DCT: first T · Cᵀ (THUMB × BLOCK), then C · (that).
  const right = new Float64Array(THUMB * BLOCK);
  for (let y = 0; y < THUMB; y++) {
    for (let v = 0; v < BLOCK; v++) {
      let s = 0;
      for (let x = 0; x < THUMB; x++) s += thumb[y * THUMB + x]! * DCT[v * THUMB + x]!;
      right[y * BLOCK + v] = s;
    }
  }
  const coef = new Float64Array(BLOCK * BLOCK);
  for (let u = 0; u < BLOCK; u++) {
    for (let v = 0; v < BLOCK; v++) {
      let s = 0;
      for (let y = 0; y < THUMB; y++) s += DCT[u * THUMB + y]! * right[y * BLOCK + v]!;
      coef[u * BLOCK + v] = s;
    }
  }
  const sorted = Float64Array.from(coef.subarray(1)).sort();
  const median = (sorted[(sorted.length - 1) >> 1]! + sorted[sorted.length >> 1]!) / 2;
  const words = new Uint32Array(HASH_WORDS);
  for (let k = 0; k < BLOCK * BLOCK; k++) if (coef[k]! > median) words[k >> 5]! |= 1 << (k & 31);
  return words;
}

/** Set bits of a 32-bit word. */
function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (Math.imul((x + (x >>> 4)) & 0x0f0f0f0f, 0x01010101) >>> 24) & 0xff;
}

/** The Hamming distance between hashes `i` and `j` of a list packed `HASH_WORDS` words per hash. */
export function hammingDistance(hashes: Uint32Array, i: number, j: number): number {
  let d = 0;
  for (let w = 0; w < HASH_WORDS; w++) d += popcount(hashes[i * HASH_WORDS + w]! ^ hashes[j * HASH_WORDS + w]!);
  return d;
}
