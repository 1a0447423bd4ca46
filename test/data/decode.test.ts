import { test } from 'node:test';
import assert from 'node:assert/strict';
import sharp from 'sharp';
import { decodeImage, conformImage } from '../../src/data/decode.js';

const gray = (h: number, w: number) => ({ height: h, width: w, channels: 1 as const });

test('decodes JPEG, PNG, WebP, GIF (first frame), TIFF and AVIF', async () => {
  const spec = { height: 4, width: 4, channels: 3 as const, resize: 'squash' as const };
  for (const format of ['jpeg', 'png', 'webp', 'gif', 'tiff', 'avif'] as const) {
    const bytes = await sharp({ create: { width: 12, height: 8, channels: 3, background: { r: 0, g: 128, b: 255 } } })
      [format]()
      .toBuffer();
    const { image, originalWidth, originalHeight } = await decodeImage(bytes, spec);
    assert.equal(image.data.length, 4 * 4 * 3, format);
    assert.deepEqual([originalWidth, originalHeight], [12, 8], format);
    // Lossy formats may move a value by a few levels.
    assert.ok(
      Math.abs(image.data[0]! - 0) <= 3 && Math.abs(image.data[1]! - 128) <= 4 && Math.abs(image.data[2]! - 255) <= 3,
      `${format}: ${image.data.slice(0, 3)}`,
    );
  }
});

test('GIF: only the first frame is used', async () => {
  const frames = Buffer.concat([Buffer.alloc(4 * 4 * 3, 255), Buffer.alloc(4 * 4 * 3, 0)]);
  const gif = await sharp(frames, { raw: { width: 4, height: 8, channels: 3, pageHeight: 4 } as sharp.CreateRaw })
    .gif()
    .toBuffer();
  const { image } = await decodeImage(gif, { height: 4, width: 4, channels: 1, resize: 'squash' });
  assert.ok(image.data.every((v) => v === 255));
});

test('EXIF orientation is applied', async () => {
  // A 2-wide, 1-high image: left white, right black. Orientation 6 means "rotate 90° clockwise to view".
  const raw = Buffer.from([255, 0]);
  const jpeg = await sharp(raw, { raw: { width: 2, height: 1, channels: 1 } })
    .png()
    .toBuffer();
  const tagged = await sharp(jpeg).withMetadata({ orientation: 6 }).png().toBuffer();
  const { image, originalWidth, originalHeight } = await decodeImage(tagged, { height: 2, width: 1, channels: 1, resize: 'squash' });
  assert.deepEqual([originalWidth, originalHeight], [1, 2]);
  assert.deepEqual([...image.data], [255, 0]); // top white, bottom black
});

test('grayscale, RGBA and 16-bit inputs are normalised to the channel count', async () => {
  const g = await sharp(Buffer.from([10, 20, 30, 40]), { raw: { width: 2, height: 2, channels: 1 } })
    .png()
    .toBuffer();
  const asRgb = await decodeImage(g, { height: 2, width: 2, channels: 3, resize: 'squash' });
  assert.deepEqual([...asRgb.image.data.slice(0, 6)], [10, 10, 10, 20, 20, 20]);
  const rgba = await sharp(Buffer.from([200, 100, 50, 0, 200, 100, 50, 255]), { raw: { width: 2, height: 1, channels: 4 } })
    .png()
    .toBuffer();
  const noAlpha = await decodeImage(rgba, { height: 1, width: 2, channels: 3, resize: 'squash' });
  assert.deepEqual([...noAlpha.image.data], [200, 100, 50, 200, 100, 50]); // alpha dropped, colour kept
  const asGray = await decodeImage(rgba, { ...gray(1, 2), resize: 'squash' });
  assert.equal(asGray.image.channels, 1);
  assert.ok(Math.abs(asGray.image.data[0]! - 124) <= 2, `luma ${asGray.image.data[0]}`);
  const p16 = await sharp(new Uint16Array(4).fill(40000), { raw: { width: 2, height: 2, channels: 1 } })
    .toColourspace('grey16')
    .png()
    .toBuffer();
  assert.equal((await sharp(p16).metadata()).depth, 'ushort');
  const d16 = await decodeImage(p16, { ...gray(2, 2), resize: 'squash' });
  for (const v of d16.image.data) assert.ok(Math.abs(v - 40000 / 257) <= 1, `16-bit 40000 became ${v}`);
});

test('resize policies: squash, center-crop, pad', async () => {
  // 4 wide × 2 high: left half white, right half black... with a grey middle band to see crops.
  const px = Buffer.from([255, 128, 128, 0, 255, 128, 128, 0]);
  const png = await sharp(px, { raw: { width: 4, height: 2, channels: 1 } })
    .png()
    .toBuffer();
  const crop = await decodeImage(png, { ...gray(2, 2), resize: 'center-crop' });
  assert.deepEqual([...crop.image.data], [128, 128, 128, 128]); // the middle two columns
  const pad = await decodeImage(png, { ...gray(4, 4), resize: 'pad' });
  // contained 4×2 in 4×4: black rows above and below
  assert.deepEqual([...pad.image.data.slice(0, 4)], [0, 0, 0, 0]);
  assert.deepEqual([...pad.image.data.slice(12, 16)], [0, 0, 0, 0]);
  assert.deepEqual([...pad.image.data.slice(4, 8)], [255, 128, 128, 0]);
  const squash = await decodeImage(png, { ...gray(2, 4), resize: 'squash' });
  assert.deepEqual([...squash.image.data], [...px]);
  const conformed = await conformImage({ data: new Uint8Array(px), height: 2, width: 4, channels: 1 }, { ...gray(2, 2), resize: 'center-crop' });
  assert.deepEqual([...conformed.data], [128, 128, 128, 128]);
});
