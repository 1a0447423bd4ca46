/**
 * Developer check (not a unit test): runs every functional op and `applyOp` bin on random images
 * and compares the pixels with real PIL / torchvision (bench/augment/verify_pil.py, run with
 * /usr/bin/python3). Usage: node dist/bench/augment/verify-pil.js [cases=400] [seed=1]
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { makeImage, type RawImage } from '../../src/data/image.js';
import { Rng } from '../../src/util/rng.js';
import * as ops from '../../src/augment/ops/index.js';
import { applyOp, OP_NAMES, type MagnitudeTable } from '../../src/augment/magnitudes.js';

interface Case {
  op: string;
  args: unknown[];
  h: number;
  w: number;
  c: number;
  file: string;
}

function randomImage(rng: Rng, h: number, w: number, c: 1 | 3): RawImage {
  const img = makeImage(h, w, c);
  // a mix of smooth structure and noise, with occasional narrow value ranges (autocontrast/equalize)
  const lo = rng.chance(0.3) ? rng.int(100) : 0;
  const hi = rng.chance(0.3) ? 150 + rng.int(106) : 255;
  const fx = rng.uniform(0.05, 0.5);
  const fy = rng.uniform(0.05, 0.5);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let k = 0; k < c; k++) {
        const base = 0.5 + 0.35 * Math.sin(x * fx + k) * Math.cos(y * fy - k);
        const v = base + rng.uniform(-0.15, 0.15);
        img.data[(y * w + x) * c + k] = Math.max(lo, Math.min(hi, Math.round(v * 255)));
      }
    }
  }
  return img;
}

function main(): void {
  const n = Number(process.argv[2] ?? 400);
  const rng = new Rng(Number(process.argv[3] ?? 1));
  const dir = mkdtempSync(join(tmpdir(), 'frugal-verify-'));
  const cases: Case[] = [];
  const add = (op: string, args: unknown[], img: RawImage, out: RawImage): void => {
    const file = `case${cases.length}`;
    writeFileSync(join(dir, `${file}.in`), img.data);
    writeFileSync(join(dir, `${file}.out`), out.data);
    cases.push({ op, args, h: img.height, w: img.width, c: img.channels, file });
    if (out.height !== img.height || out.width !== img.width) cases[cases.length - 1]!.args.push({ outH: out.height, outW: out.width });
  };
  for (let i = 0; i < n; i++) {
    const c: 1 | 3 = rng.chance(0.3) ? 1 : 3;
    const h = rng.chance(0.5) ? 1 + rng.int(40) : 20 + rng.int(230);
    const w = rng.chance(0.5) ? 1 + rng.int(40) : 20 + rng.int(230);
    const img = randomImage(rng, h, w, c);
    const kind = rng.int(20);
    const f = rng.uniform(-0.5, 2.5);
    switch (kind) {
      case 0:
        add('autocontrast', [], img, ops.autocontrast(img));
        break;
      case 1:
        add('equalize', [], img, ops.equalize(img));
        break;
      case 2: {
        const d = rng.chance(0.2) ? rng.pick([90, 180, 270, -90, 360, 0]) : rng.uniform(-180, 180);
        add('rotate', [d], img, ops.rotate(img, d));
        break;
      }
      case 3: {
        const t = rng.uniform(0, 256);
        add('solarize', [t], img, ops.solarize(img, t));
        break;
      }
      case 4:
        add('color', [f], img, ops.color(img, f));
        break;
      case 5: {
        const b = rng.int(9);
        add('posterize', [b], img, ops.posterize(img, b));
        break;
      }
      case 6:
        add('contrast', [f], img, ops.contrast(img, f));
        break;
      case 7:
        add('brightness', [f], img, ops.brightness(img, f));
        break;
      case 8:
        add('sharpness', [f], img, ops.sharpness(img, f));
        break;
      case 9: {
        const s = rng.uniform(-1, 1);
        add('shearX', [s], img, ops.shearX(img, s));
        break;
      }
      case 10: {
        const s = rng.uniform(-1, 1);
        add('shearY', [s], img, ops.shearY(img, s));
        break;
      }
      case 11: {
        const p = rng.int(2 * w + 1) - w;
        add('translateX', [p], img, ops.translateX(img, p));
        break;
      }
      case 12: {
        const p = rng.int(2 * h + 1) - h;
        add('translateY', [p], img, ops.translateY(img, p));
        break;
      }
      case 13:
        add('flipH', [], img, ops.flipH(img));
        break;
      case 14:
        add('invert', [], img, ops.invert(img));
        break;
      case 15: {
        const ch = 1 + rng.int(h + 4);
        const cw = 1 + rng.int(w + 4);
        const box = { top: rng.int(h + 2) - 2, left: rng.int(w + 2) - 2, height: ch, width: cw };
        const oh = 1 + rng.int(60);
        const ow = 1 + rng.int(60);
        add('resizedCrop', [box.top, box.left, box.height, box.width, oh, ow], img, ops.randomResizedCrop(img, box, oh, ow));
        break;
      }
      case 16: {
        const pad = rng.int(8);
        const dx = rng.int(2 * pad + 1);
        const dy = rng.int(2 * pad + 1);
        add('padCrop', [pad, dx, dy], img, ops.padCrop(img, pad, dx, dy));
        break;
      }
      default: {
        const table: MagnitudeTable = rng.chance(0.5) ? 'randaugment' : 'wide';
        const name = rng.pick(OP_NAMES.filter((o) => !['cutout', 'random-resized-crop', 'pad-crop', 'flip-h', 'invert'].includes(o)));
        const bin = rng.int(31);
        const sign = rng.chance(0.5) ? 1 : -1;
        add('applyOp', [name, bin, sign, table], img, applyOp(img, name, bin, sign, table));
      }
    }
  }
  writeFileSync(join(dir, 'cases.json'), JSON.stringify(cases));
  const script = fileURLToPath(new URL('../../../bench/augment/verify_pil.py', import.meta.url));
  const r = spawnSync('/usr/bin/python3', [script, dir], { stdio: 'inherit' });
  rmSync(dir, { recursive: true, force: true });
  process.exitCode = r.status ?? 1;
}

main();
