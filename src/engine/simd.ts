/**
 * SIMD loops (hand-assembled WebAssembly, see ./wasm-asm.ts) that run directly
 * on tfjs-backend-wasm's heap: its linear memory is exported as `memory`, so a
 * second module importing it can read and write tensors in place.
 *
 * Used by ./wasm-fast.ts and ./wasm-kernels.ts for the kernels tfjs-backend-wasm
 * lacks or runs slowly. All pointers are byte offsets into the heap.
 */
import * as tf from '@tensorflow/tfjs-core';
import { I, assemble, forLoop, type FuncDef, type Ins, type ValType } from './wasm-asm.js';

/** Allocates named locals after the params. */
class Locals {
  readonly types: ValType[] = [];
  constructor(private readonly nParams: number) {}
  add(t: ValType = 'i32'): number {
    this.types.push(t);
    return this.nParams + this.types.length - 1;
  }
}

const g = I.get;

/** out[c] = sum_r x[r*cols + c]; cols % 4 == 0; 64-row blocks summed in tmp first. */
function colsum(): FuncDef {
  // params: x, rows, cols, out, tmp
  const [x, rows, cols, out, tmp] = [0, 1, 2, 3, 4];
  const L = new Locals(5);
  const r = L.add(),
    rEnd = L.add(),
    rr = L.add(),
    c = L.add(),
    p = L.add(),
    cb = L.add();
  const body: Ins[] = [
    g(cols),
    I.i32(2),
    I.i32_shl(),
    I.set(cb),
    g(out),
    I.i32(0),
    g(cb),
    I.memory_fill(),
    ...forLoop(r, [I.i32(0)], [g(rows)], 0, [
      // rEnd = min(r + 64, rows)
      g(r),
      I.i32(64),
      I.i32_add(),
      g(rows),
      g(r),
      I.i32(64),
      I.i32_add(),
      g(rows),
      I.i32_lt_s(),
      I.select(),
      I.set(rEnd),
      g(tmp),
      I.i32(0),
      g(cb),
      I.memory_fill(),
      ...forLoop(rr, [g(r)], [g(rEnd)], 1, [
        g(x),
        g(rr),
        g(cb),
        I.i32_mul(),
        I.i32_add(),
        I.set(p),
        ...forLoop(c, [I.i32(0)], [g(cb)], 16, [
          g(tmp),
          g(c),
          I.i32_add(),
          g(tmp),
          g(c),
          I.i32_add(),
          I.v128_load(),
          g(p),
          g(c),
          I.i32_add(),
          I.v128_load(),
          I.f32x4_add(),
          I.v128_store(),
        ]),
      ]),
      ...forLoop(c, [I.i32(0)], [g(cb)], 16, [
        g(out),
        g(c),
        I.i32_add(),
        g(out),
        g(c),
        I.i32_add(),
        I.v128_load(),
        g(tmp),
        g(c),
        I.i32_add(),
        I.v128_load(),
        I.f32x4_add(),
        I.v128_store(),
      ]),
      g(rEnd),
      I.set(r),
    ]),
  ];
  return { name: 'colsum', params: ['i32', 'i32', 'i32', 'i32', 'i32'], locals: L.types, body };
}

export type Operand = 'full' | 'splat' | 'vec';
export const BINARY_OPS = {
  Minimum: { v: I.f32x4_min, bool: false },
  Maximum: { v: I.f32x4_max, bool: false },
  Greater: { v: I.f32x4_gt, bool: true },
  GreaterEqual: { v: I.f32x4_ge, bool: true },
  Less: { v: I.f32x4_lt, bool: true },
  LessEqual: { v: I.f32x4_le, bool: true },
  Equal: { v: I.f32x4_eq, bool: true },
  NotEqual: { v: I.f32x4_ne, bool: true },
} as const;
export type BinaryOp = keyof typeof BINARY_OPS;
export const OPERAND_PAIRS: Array<[Operand, Operand]> = [
  ['full', 'full'],
  ['full', 'splat'],
  ['splat', 'full'],
  ['full', 'vec'],
  ['vec', 'full'],
];

/**
 * out = op(a, b) over rows x inner elements (inner % 4 == 0, or % 16 for
 * bool outputs). 'full' operands advance with the output, 'vec' ones repeat
 * every row, 'splat' ones are a single scalar.
 */
function binary(op: BinaryOp, ma: Operand, mb: Operand): FuncDef {
  const { v, bool } = BINARY_OPS[op];
  const [a, b, out, rows, inner] = [0, 1, 2, 3, 4];
  const L = new Locals(5);
  const r = L.add(),
    j = L.add(),
    pa = L.add(),
    pb = L.add(),
    po = L.add(),
    rowB = L.add();
  const load = (m: Operand, ptr: number, off: number): Ins[] =>
    m === 'splat' ? [g(ptr), I.v128_load32_splat()] : [g(ptr), g(j), I.i32(2), I.i32_shl(), I.i32_add(), I.v128_load(off)];
  const cmp = (off: number): Ins[] => [...load(ma, pa, off), ...load(mb, pb, off), v()];
  const step = bool ? 16 : 4;
  const inner4: Ins[] = bool
    ? [
        g(po),
        g(j),
        I.i32_add(),
        ...cmp(0),
        ...cmp(16),
        I.i16x8_narrow_i32x4_s(),
        ...cmp(32),
        ...cmp(48),
        I.i16x8_narrow_i32x4_s(),
        I.i8x16_narrow_i16x8_s(),
        I.i32(1),
        I.i8x16_splat(),
        I.v128_and(),
        I.v128_store(),
      ]
    : [g(po), g(j), I.i32(2), I.i32_shl(), I.i32_add(), ...cmp(0), I.v128_store()];
  const body: Ins[] = [
    g(inner),
    I.i32(2),
    I.i32_shl(),
    I.set(rowB),
    ...forLoop(r, [I.i32(0)], [g(rows)], 1, [
      ...(ma === 'full' ? [g(a), g(r), g(rowB), I.i32_mul(), I.i32_add()] : [g(a)]),
      I.set(pa),
      ...(mb === 'full' ? [g(b), g(r), g(rowB), I.i32_mul(), I.i32_add()] : [g(b)]),
      I.set(pb),
      g(out),
      g(r),
      bool ? g(inner) : g(rowB),
      I.i32_mul(),
      I.i32_add(),
      I.set(po),
      ...forLoop(j, [I.i32(0)], [g(inner)], step, inner4),
    ]),
  ];
  return { name: `${op}_${ma}_${mb}`, params: ['i32', 'i32', 'i32', 'i32', 'i32'], locals: L.types, body };
}

/** Shared loop nest of the depthwise backprop kernels (m == 1, c % 4 == 0). */
function dwLoops(
  L: Locals,
  p: Record<string, number>,
  perImageStart: Ins[],
  perImageEnd: Ins[],
  inner: (xOff: number, dOff: number, wOff: number, q: number) => Ins[],
): Ins[] {
  const bI = L.add(),
    i = L.add(),
    a = L.add(),
    r = L.add(),
    j = L.add(),
    e = L.add(),
    col = L.add();
  const dOff = L.add(),
    xOff = L.add(),
    wOff = L.add(),
    q = L.add(),
    cb = L.add();
  return [
    g(p['c']!),
    I.i32(2),
    I.i32_shl(),
    I.set(cb),
    ...forLoop(bI, [I.i32(0)], [g(p['n']!)], 1, [
      ...perImageStart,
      ...forLoop(i, [I.i32(0)], [g(p['oh']!)], 1, [
        ...forLoop(a, [I.i32(0)], [g(p['kh']!)], 1, [
          I.block(),
          // r = i*sh + a - top; skip when out of [0, h)
          g(i),
          g(p['sh']!),
          I.i32_mul(),
          g(a),
          I.i32_add(),
          g(p['top']!),
          I.i32_sub(),
          I.tee(r),
          I.i32(0),
          I.i32_lt_s(),
          I.br_if(0),
          g(r),
          g(p['h']!),
          I.i32_ge_s(),
          I.br_if(0),
          ...forLoop(j, [I.i32(0)], [g(p['ow']!)], 1, [
            // dOff = dyBase + ((b*oh + i)*ow + j)*cb
            g(p['dy']!),
            g(bI),
            g(p['oh']!),
            I.i32_mul(),
            g(i),
            I.i32_add(),
            g(p['ow']!),
            I.i32_mul(),
            g(j),
            I.i32_add(),
            g(cb),
            I.i32_mul(),
            I.i32_add(),
            I.set(dOff),
            ...forLoop(e, [I.i32(0)], [g(p['kw']!)], 1, [
              I.block(),
              g(j),
              g(p['sw']!),
              I.i32_mul(),
              g(e),
              I.i32_add(),
              g(p['left']!),
              I.i32_sub(),
              I.tee(col),
              I.i32(0),
              I.i32_lt_s(),
              I.br_if(0),
              g(col),
              g(p['w']!),
              I.i32_ge_s(),
              I.br_if(0),
              // xOff = xBase + ((b*h + r)*w + col)*cb
              g(p['x']!),
              g(bI),
              g(p['h']!),
              I.i32_mul(),
              g(r),
              I.i32_add(),
              g(p['w']!),
              I.i32_mul(),
              g(col),
              I.i32_add(),
              g(cb),
              I.i32_mul(),
              I.i32_add(),
              I.set(xOff),
              // wOff = wBase + (a*kw + e)*cb
              g(p['wt']!),
              g(a),
              g(p['kw']!),
              I.i32_mul(),
              g(e),
              I.i32_add(),
              g(cb),
              I.i32_mul(),
              I.i32_add(),
              I.set(wOff),
              ...forLoop(q, [I.i32(0)], [g(cb)], 16, inner(xOff, dOff, wOff, q)),
              I.end(),
            ]),
          ]),
          I.end(),
        ]),
      ]),
      ...perImageEnd,
    ]),
  ];
}

const DW_PARAMS = ['x', 'dy', 'wt', 'tmp', 'n', 'h', 'w', 'c', 'kh', 'kw', 'sh', 'sw', 'oh', 'ow', 'top', 'left'];

/** Depthwise filter gradient: wt[a,b,c] = sum x[n, i*sh+a-top, j*sw+b-left, c] * dy[n,i,j,c]. */
function dwFilterGrad(): FuncDef {
  const p = Object.fromEntries(DW_PARAMS.map((k, i) => [k, i]));
  const L = new Locals(DW_PARAMS.length);
  const fb = L.add(),
    q2 = L.add();
  const addv = (dst: number, src: number, off: number): Ins[] => [
    g(dst),
    g(off),
    I.i32_add(),
    g(dst),
    g(off),
    I.i32_add(),
    I.v128_load(),
    g(src),
    g(off),
    I.i32_add(),
    I.v128_load(),
  ];
  const body: Ins[] = [
    // fb = kh*kw*c*4 bytes
    g(p['kh']!),
    g(p['kw']!),
    I.i32_mul(),
    g(p['c']!),
    I.i32_mul(),
    I.i32(2),
    I.i32_shl(),
    I.set(fb),
    g(p['wt']!),
    I.i32(0),
    g(fb),
    I.memory_fill(),
  ];
  // Accumulate each image into tmp (the "wt" seen by the loop nest), then add into wt.
  const pTmp = { ...p, wt: p['tmp']! };
  body.push(
    ...dwLoops(
      L,
      pTmp,
      [g(p['tmp']!), I.i32(0), g(fb), I.memory_fill()],
      forLoop(q2, [I.i32(0)], [g(fb)], 16, [...addv(p['wt']!, p['tmp']!, q2), I.f32x4_add(), I.v128_store()]),
      (xOff, dOff, wOff, q) => [
        g(wOff),
        g(q),
        I.i32_add(),
        g(wOff),
        g(q),
        I.i32_add(),
        I.v128_load(),
        g(xOff),
        g(q),
        I.i32_add(),
        I.v128_load(),
        g(dOff),
        g(q),
        I.i32_add(),
        I.v128_load(),
        I.f32x4_mul(),
        I.f32x4_add(),
        I.v128_store(),
      ],
    ),
  );
  return { name: 'dwFilterGrad', params: DW_PARAMS.map(() => 'i32'), locals: L.types, body };
}

/** Depthwise input gradient: x[n, i*sh+a-top, j*sw+b-left, c] += dy[n,i,j,c] * wt[a,b,c]; "x" is the output. */
function dwInputGrad(): FuncDef {
  const p = Object.fromEntries(DW_PARAMS.map((k, i) => [k, i]));
  const L = new Locals(DW_PARAMS.length);
  const body: Ins[] = [
    // zero the output: n*h*w*c*4 bytes
    g(p['x']!),
    I.i32(0),
    g(p['n']!),
    g(p['h']!),
    I.i32_mul(),
    g(p['w']!),
    I.i32_mul(),
    g(p['c']!),
    I.i32_mul(),
    I.i32(2),
    I.i32_shl(),
    I.memory_fill(),
    ...dwLoops(L, p, [], [], (xOff, dOff, wOff, q) => [
      g(xOff),
      g(q),
      I.i32_add(),
      g(xOff),
      g(q),
      I.i32_add(),
      I.v128_load(),
      g(dOff),
      g(q),
      I.i32_add(),
      I.v128_load(),
      g(wOff),
      g(q),
      I.i32_add(),
      I.v128_load(),
      I.f32x4_mul(),
      I.f32x4_add(),
      I.v128_store(),
    ]),
  ];
  return { name: 'dwInputGrad', params: DW_PARAMS.map(() => 'i32'), locals: L.types, body };
}

/**
 * 4-D strided copy of 4-byte elements: dst[i0,i1,i2,i3] (element strides t*)
 * = src[i0,i1,i2,i3] (element strides s*). Innermost runs with s3 == t3 == 1
 * use memory.copy.
 */
function copy4(): FuncDef {
  const names = ['src', 'dst', 'd0', 'd1', 'd2', 'd3', 's0', 's1', 's2', 's3', 't0', 't1', 't2', 't3'];
  const p = Object.fromEntries(names.map((k, i) => [k, i])) as Record<string, number>;
  const L = new Locals(names.length);
  const i0 = L.add(),
    i1 = L.add(),
    i2 = L.add(),
    i3 = L.add(),
    ps = L.add(),
    pd = L.add(),
    contiguous = L.add();
  const body: Ins[] = [
    // byte strides
    ...['s0', 's1', 's2', 's3', 't0', 't1', 't2', 't3'].flatMap((k) => [g(p[k]!), I.i32(2), I.i32_shl(), I.set(p[k]!)]),
    g(p['s3']!),
    I.i32(4),
    I.i32_eq(),
    g(p['t3']!),
    I.i32(4),
    I.i32_eq(),
    I.i32_and(),
    I.set(contiguous),
    ...forLoop(i0, [I.i32(0)], [g(p['d0']!)], 1, [
      ...forLoop(i1, [I.i32(0)], [g(p['d1']!)], 1, [
        ...forLoop(i2, [I.i32(0)], [g(p['d2']!)], 1, [
          g(p['src']!),
          g(i0),
          g(p['s0']!),
          I.i32_mul(),
          I.i32_add(),
          g(i1),
          g(p['s1']!),
          I.i32_mul(),
          I.i32_add(),
          g(i2),
          g(p['s2']!),
          I.i32_mul(),
          I.i32_add(),
          I.set(ps),
          g(p['dst']!),
          g(i0),
          g(p['t0']!),
          I.i32_mul(),
          I.i32_add(),
          g(i1),
          g(p['t1']!),
          I.i32_mul(),
          I.i32_add(),
          g(i2),
          g(p['t2']!),
          I.i32_mul(),
          I.i32_add(),
          I.set(pd),
          g(contiguous),
          I.if_(),
          g(pd),
          g(ps),
          g(p['d3']!),
          I.i32(2),
          I.i32_shl(),
          I.memory_copy(),
          I.else_(),
          ...forLoop(i3, [I.i32(0)], [g(p['d3']!)], 1, [
            g(pd),
            g(ps),
            I.i32_load(),
            I.i32_store(),
            g(ps),
            g(p['s3']!),
            I.i32_add(),
            I.set(ps),
            g(pd),
            g(p['t3']!),
            I.i32_add(),
            I.set(pd),
          ]),
          I.end(),
        ]),
      ]),
    ]),
  ];
  return { name: 'copy4', params: names.map(() => 'i32'), locals: L.types, body };
}

/**
 * Per-channel reductions over a [rows, C] float tensor (C % 4 == 0), summed
 * in 64-row blocks for accuracy. Params: in0, in1, vec (a per-channel vector),
 * rows, C, out, tmp; out/tmp hold nOut*C floats.
 */
function colReduce(name: string, nOut: number, terms: (in0: Ins[], in1: Ins[], vec: Ins[]) => Ins[][]): FuncDef {
  const [in0, in1, vec, rows, C, out, tmp] = [0, 1, 2, 3, 4, 5, 6];
  const L = new Locals(7);
  const r = L.add(),
    rEnd = L.add(),
    rr = L.add(),
    c = L.add(),
    p0 = L.add(),
    p1 = L.add(),
    cb = L.add(),
    ob = L.add();
  const ld = (base: number, off: number = c): Ins[] => [g(base), g(off), I.i32_add(), I.v128_load()];
  const exprs = terms(ld(p0), ld(p1), ld(vec));
  const accum: Ins[] = exprs.flatMap((e, k) => [
    g(tmp),
    g(c),
    I.i32_add(),
    g(tmp),
    g(c),
    I.i32_add(),
    I.v128_load(k * 0),
    ...e,
    I.f32x4_add(),
    I.v128_store(),
    // advance tmp view to the next output block for the next term
    ...(k < exprs.length - 1 ? [g(tmp), g(cb), I.i32_add(), I.set(tmp)] : []),
  ]);
  const rewind: Ins[] = nOut > 1 ? [g(tmp), g(cb), I.i32(nOut - 1), I.i32_mul(), I.i32_sub(), I.set(tmp)] : [];
  const body: Ins[] = [
    g(C),
    I.i32(2),
    I.i32_shl(),
    I.set(cb),
    g(cb),
    I.i32(nOut),
    I.i32_mul(),
    I.set(ob),
    g(out),
    I.i32(0),
    g(ob),
    I.memory_fill(),
    ...forLoop(r, [I.i32(0)], [g(rows)], 0, [
      g(r),
      I.i32(64),
      I.i32_add(),
      g(rows),
      g(r),
      I.i32(64),
      I.i32_add(),
      g(rows),
      I.i32_lt_s(),
      I.select(),
      I.set(rEnd),
      g(tmp),
      I.i32(0),
      g(ob),
      I.memory_fill(),
      ...forLoop(rr, [g(r)], [g(rEnd)], 1, [
        g(in0),
        g(rr),
        g(cb),
        I.i32_mul(),
        I.i32_add(),
        I.set(p0),
        g(in1),
        g(rr),
        g(cb),
        I.i32_mul(),
        I.i32_add(),
        I.set(p1),
        ...forLoop(c, [I.i32(0)], [g(cb)], 16, [...accum, ...rewind]),
      ]),
      ...forLoop(c, [I.i32(0)], [g(ob)], 16, [
        g(out),
        g(c),
        I.i32_add(),
        g(out),
        g(c),
        I.i32_add(),
        I.v128_load(),
        g(tmp),
        g(c),
        I.i32_add(),
        I.v128_load(),
        I.f32x4_add(),
        I.v128_store(),
      ]),
      g(rEnd),
      I.set(r),
    ]),
  ];
  return { name, params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], locals: L.types, body };
}

/** out[r,c] = (x[r,c] - m[c]) * a[c] + b[c] over [rows, C], C % 4 == 0. */
function channelAffine(): FuncDef {
  const [x, m, a, b, rows, C, out] = [0, 1, 2, 3, 4, 5, 6];
  const L = new Locals(7);
  const r = L.add(),
    c = L.add(),
    px = L.add(),
    po = L.add(),
    cb = L.add();
  const ld = (base: number): Ins[] => [g(base), g(c), I.i32_add(), I.v128_load()];
  const body: Ins[] = [
    g(C),
    I.i32(2),
    I.i32_shl(),
    I.set(cb),
    g(x),
    I.set(px),
    g(out),
    I.set(po),
    ...forLoop(r, [I.i32(0)], [g(rows)], 1, [
      ...forLoop(c, [I.i32(0)], [g(cb)], 16, [
        g(po),
        g(c),
        I.i32_add(),
        ...ld(px),
        ...ld(m),
        I.f32x4_sub(),
        ...ld(a),
        I.f32x4_mul(),
        ...ld(b),
        I.f32x4_add(),
        I.v128_store(),
      ]),
      g(px),
      g(cb),
      I.i32_add(),
      I.set(px),
      g(po),
      g(cb),
      I.i32_add(),
      I.set(po),
    ]),
  ];
  return { name: 'channelAffine', params: ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], locals: L.types, body };
}

export const MASK_CMPS = { gt: I.f32x4_gt, ge: I.f32x4_ge, lt: I.f32x4_lt, le: I.f32x4_le } as const;
export type MaskCmp = keyof typeof MASK_CMPS;

/** out[i] = cmp(x[i], s) ? dy[i] : 0 for i < n (n % 4 == 0). */
function maskedCopy(cmp: MaskCmp): FuncDef {
  const [dy, x, n, sv, out] = [0, 1, 2, 3, 4];
  const L = new Locals(5);
  const i = L.add(),
    nb = L.add(),
    sp = L.add('v128');
  const body: Ins[] = [
    g(n),
    I.i32(2),
    I.i32_shl(),
    I.set(nb),
    g(sv),
    I.f32x4_splat(),
    I.set(sp),
    ...forLoop(i, [I.i32(0)], [g(nb)], 16, [
      g(out),
      g(i),
      I.i32_add(),
      g(dy),
      g(i),
      I.i32_add(),
      I.v128_load(),
      g(x),
      g(i),
      I.i32_add(),
      I.v128_load(),
      g(sp),
      MASK_CMPS[cmp](),
      I.v128_and(),
      I.v128_store(),
    ]),
  ];
  return { name: `mask_${cmp}`, params: ['i32', 'i32', 'i32', 'f32', 'i32'], locals: L.types, body };
}

/**
 * Conv2D filter gradient, NHWC, register-blocked: for every tap (a,b)
 *   out[a,b,ci,co] = sum_{n,i,j} x[n, i*sh+a-top, j*sw+b-left, ci] * dy[n,i,j,co]
 * with a 4(ci) x 8(co) accumulator tile in registers, streamed over blocks of
 * `rb` output rows (so the x and dy rows stay in L1 across all tiles and taps).
 * Requires cout % 8 == 0 (channels beyond a multiple of 4 use 1 x 8 tiles).
 */
function convFilterGrad(): FuncDef {
  const names = ['x', 'dy', 'out', 'n', 'h', 'w', 'cin', 'kh', 'kw', 'sh', 'sw', 'oh', 'ow', 'top', 'left', 'cout', 'rb'];
  const p = Object.fromEntries(names.map((k, i) => [k, i])) as Record<string, number>;
  const P = (k: string) => g(p[k]!);
  const L = new Locals(names.length);
  const cinB = L.add(),
    coutB = L.add(),
    stepX = L.add(),
    bI = L.add(),
    i0 = L.add(),
    i1 = L.add(),
    a = L.add(),
    e = L.add();
  const j0 = L.add(),
    j1 = L.add(),
    t = L.add(),
    tapOut = L.add(),
    ci = L.add(),
    co = L.add(),
    i = L.add(),
    r = L.add();
  const xp = L.add(),
    dp = L.add(),
    jn = L.add(),
    o = L.add();
  const acc = Array.from({ length: 8 }, () => L.add('v128'));
  const d0 = L.add('v128'),
    d1 = L.add('v128'),
    xv = L.add('v128');
  const fma = (off: number, k: number): Ins[] => [
    g(xp),
    I.v128_load32_splat(off),
    I.set(xv),
    g(acc[2 * k]!),
    g(xv),
    g(d0),
    I.f32x4_mul(),
    I.f32x4_add(),
    I.set(acc[2 * k]!),
    g(acc[2 * k + 1]!),
    g(xv),
    g(d1),
    I.f32x4_mul(),
    I.f32x4_add(),
    I.set(acc[2 * k + 1]!),
  ];
  const flush = (k: number): Ins[] => [
    // o + k*coutB: += acc[2k], acc[2k+1]
    g(o),
    g(o),
    I.v128_load(0),
    g(acc[2 * k]!),
    I.f32x4_add(),
    I.v128_store(0),
    g(o),
    g(o),
    I.v128_load(16),
    g(acc[2 * k + 1]!),
    I.f32x4_add(),
    I.v128_store(16),
    g(o),
    g(coutB),
    I.i32_add(),
    I.set(o),
  ];
  /** An nci(4 or 1) x 8 tile at (ci, co). */
  const tile = (nci: number): Ins[] => [
    ...acc.slice(0, 2 * nci).flatMap((v) => [I.v128_const0(), I.set(v)]),
    ...forLoop(i, [g(i0)], [g(i1)], 1, [
      I.block(),
      g(i),
      P('sh'),
      I.i32_mul(),
      g(a),
      I.i32_add(),
      P('top'),
      I.i32_sub(),
      I.tee(r),
      I.i32(0),
      I.i32_lt_s(),
      I.br_if(0),
      g(r),
      P('h'),
      I.i32_ge_s(),
      I.br_if(0),
      // xp = x + ((b*h + r)*w + j0*sw + e - left)*cinB + ci*4
      P('x'),
      g(bI),
      P('h'),
      I.i32_mul(),
      g(r),
      I.i32_add(),
      P('w'),
      I.i32_mul(),
      g(j0),
      P('sw'),
      I.i32_mul(),
      I.i32_add(),
      g(e),
      I.i32_add(),
      P('left'),
      I.i32_sub(),
      g(cinB),
      I.i32_mul(),
      I.i32_add(),
      g(ci),
      I.i32(2),
      I.i32_shl(),
      I.i32_add(),
      I.set(xp),
      // dp = dy + ((b*oh + i)*ow + j0)*coutB + co*4
      P('dy'),
      g(bI),
      P('oh'),
      I.i32_mul(),
      g(i),
      I.i32_add(),
      P('ow'),
      I.i32_mul(),
      g(j0),
      I.i32_add(),
      g(coutB),
      I.i32_mul(),
      I.i32_add(),
      g(co),
      I.i32(2),
      I.i32_shl(),
      I.i32_add(),
      I.set(dp),
      g(j1),
      g(j0),
      I.i32_sub(),
      I.set(jn),
      I.loop(),
      g(dp),
      I.v128_load(0),
      I.set(d0),
      g(dp),
      I.v128_load(16),
      I.set(d1),
      ...Array.from({ length: nci }, (_, k) => fma(4 * k, k)).flat(),
      g(xp),
      g(stepX),
      I.i32_add(),
      I.set(xp),
      g(dp),
      g(coutB),
      I.i32_add(),
      I.set(dp),
      g(jn),
      I.i32(1),
      I.i32_sub(),
      I.tee(jn),
      I.br_if(0),
      I.end(),
      I.end(),
    ]),
    // o = tapOut + ci*coutB + co*4
    g(tapOut),
    g(ci),
    g(coutB),
    I.i32_mul(),
    I.i32_add(),
    g(co),
    I.i32(2),
    I.i32_shl(),
    I.i32_add(),
    I.set(o),
    ...Array.from({ length: nci }, (_, k) => flush(k)).flat(),
  ];
  const cin4 = L.add();
  const body: Ins[] = [
    P('cin'),
    I.i32(2),
    I.i32_shl(),
    I.set(cinB),
    P('cout'),
    I.i32(2),
    I.i32_shl(),
    I.set(coutB),
    P('sw'),
    g(cinB),
    I.i32_mul(),
    I.set(stepX),
    P('cin'),
    I.i32(-4),
    I.i32_and(),
    I.set(cin4),
    P('out'),
    I.i32(0),
    P('kh'),
    P('kw'),
    I.i32_mul(),
    P('cin'),
    I.i32_mul(),
    g(coutB),
    I.i32_mul(),
    I.memory_fill(),
    ...forLoop(bI, [I.i32(0)], [P('n')], 1, [
      ...forLoop(i0, [I.i32(0)], [P('oh')], 0, [
        // i1 = min(i0 + rb, oh)
        g(i0),
        P('rb'),
        I.i32_add(),
        P('oh'),
        g(i0),
        P('rb'),
        I.i32_add(),
        P('oh'),
        I.i32_lt_s(),
        I.select(),
        I.set(i1),
        ...forLoop(a, [I.i32(0)], [P('kh')], 1, [
          ...forLoop(e, [I.i32(0)], [P('kw')], 1, [
            I.block(),
            // j0 = t <= 0 ? 0 : (t + sw - 1) / sw, t = left - e
            P('left'),
            g(e),
            I.i32_sub(),
            I.tee(t),
            I.i32(0),
            I.i32_le_s(),
            I.if_(),
            I.i32(0),
            I.set(j0),
            I.else_(),
            g(t),
            P('sw'),
            I.i32_add(),
            I.i32(1),
            I.i32_sub(),
            P('sw'),
            I.i32_div_s(),
            I.set(j0),
            I.end(),
            // j1 = t2 < 0 ? 0 : min(ow, t2 / sw + 1), t2 = w - 1 + left - e
            P('w'),
            I.i32(1),
            I.i32_sub(),
            P('left'),
            I.i32_add(),
            g(e),
            I.i32_sub(),
            I.tee(t),
            I.i32(0),
            I.i32_lt_s(),
            I.if_(),
            I.i32(0),
            I.set(j1),
            I.else_(),
            g(t),
            P('sw'),
            I.i32_div_s(),
            I.i32(1),
            I.i32_add(),
            I.set(j1),
            g(j1),
            P('ow'),
            g(j1),
            P('ow'),
            I.i32_lt_s(),
            I.select(),
            I.set(j1),
            I.end(),
            g(j0),
            g(j1),
            I.i32_ge_s(),
            I.br_if(0),
            // tapOut = out + (a*kw + e)*cin*coutB
            P('out'),
            g(a),
            P('kw'),
            I.i32_mul(),
            g(e),
            I.i32_add(),
            P('cin'),
            I.i32_mul(),
            g(coutB),
            I.i32_mul(),
            I.i32_add(),
            I.set(tapOut),
            ...forLoop(ci, [I.i32(0)], [g(cin4)], 4, [...forLoop(co, [I.i32(0)], [P('cout')], 8, tile(4))]),
            ...forLoop(ci, [g(cin4)], [P('cin')], 1, [...forLoop(co, [I.i32(0)], [P('cout')], 8, tile(1))]),
            I.end(),
          ]),
        ]),
        g(i1),
        I.set(i0),
      ]),
    ]),
  ];
  return { name: 'convFilterGrad', params: names.map(() => 'i32'), locals: L.types, body };
}

/**
 * Batched, strided 2-D transpose of 4-byte elements, in 8x8 blocks:
 *   dst[b*dbs + c*drs + r] = src[b*sbs + r*srs + c]   (element offsets)
 */
function transpose2d(): FuncDef {
  const names = ['src', 'dst', 'R', 'C', 'srs', 'drs', 'B', 'sbs', 'dbs'];
  const p = Object.fromEntries(names.map((k, i) => [k, i])) as Record<string, number>;
  const L = new Locals(names.length);
  const b = L.add(),
    r0 = L.add(),
    c0 = L.add(),
    r = L.add(),
    c = L.add(),
    rEnd = L.add(),
    cEnd = L.add();
  const ps = L.add(),
    pd = L.add(),
    drsB = L.add();
  const min = (x: Ins[], y: Ins[]): Ins[] => [...x, ...y, ...x, ...y, I.i32_lt_s(), I.select()];
  const body: Ins[] = [
    g(p['drs']!),
    I.i32(2),
    I.i32_shl(),
    I.set(drsB),
    ...forLoop(b, [I.i32(0)], [g(p['B']!)], 1, [
      ...forLoop(r0, [I.i32(0)], [g(p['R']!)], 8, [
        ...min([g(r0), I.i32(8), I.i32_add()], [g(p['R']!)]),
        I.set(rEnd),
        ...forLoop(c0, [I.i32(0)], [g(p['C']!)], 8, [
          ...min([g(c0), I.i32(8), I.i32_add()], [g(p['C']!)]),
          I.set(cEnd),
          ...forLoop(r, [g(r0)], [g(rEnd)], 1, [
            // ps = src + (b*sbs + r*srs + c0)*4 ; pd = dst + (b*dbs + c0*drs + r)*4
            g(p['src']!),
            g(b),
            g(p['sbs']!),
            I.i32_mul(),
            g(r),
            g(p['srs']!),
            I.i32_mul(),
            I.i32_add(),
            g(c0),
            I.i32_add(),
            I.i32(2),
            I.i32_shl(),
            I.i32_add(),
            I.set(ps),
            g(p['dst']!),
            g(b),
            g(p['dbs']!),
            I.i32_mul(),
            g(c0),
            g(p['drs']!),
            I.i32_mul(),
            I.i32_add(),
            g(r),
            I.i32_add(),
            I.i32(2),
            I.i32_shl(),
            I.i32_add(),
            I.set(pd),
            ...forLoop(c, [g(c0)], [g(cEnd)], 1, [
              g(pd),
              g(ps),
              I.i32_load(),
              I.i32_store(),
              g(ps),
              I.i32(4),
              I.i32_add(),
              I.set(ps),
              g(pd),
              g(drsB),
              I.i32_add(),
              I.set(pd),
            ]),
          ]),
        ]),
      ]),
    ]),
  ];
  return { name: 'transpose2d', params: names.map(() => 'i32'), locals: L.types, body };
}

// ---------------------------------------------------------------------------

// Minimal typings: the project's lib settings (ES2022, no DOM) omit WebAssembly.
interface WasmApi {
  Module: new (bytes: Uint8Array) => object;
  Instance: new (module: object, imports: object) => { exports: Record<string, unknown> };
}
const WA = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

interface WasmModuleLike {
  asm: { memory: object };
  _malloc(n: number): number;
  _free(p: number): void;
}
interface BackendLike {
  wasm: WasmModuleLike;
  dataIdMap: { get(id: tf.DataId): { memoryOffset: number } | undefined };
}

export interface Simd {
  colsum(x: number, rows: number, cols: number, out: number, tmp: number): void;
  binary(op: BinaryOp, ma: Operand, mb: Operand, a: number, b: number, out: number, rows: number, inner: number): void;
  dwFilterGrad(...args: number[]): void;
  dwInputGrad(...args: number[]): void;
  copy4(...args: number[]): void;
  transpose2d(...args: number[]): void;
  /** [Σdy | Σdy·(x-mean)] per channel: (dy, x, mean, rows, C, out, tmp). */
  bnGradSums(...args: number[]): void;
  /** Σ(x-mean)² per channel: (x, 0, mean, rows, C, out, tmp). */
  sqDevSum(...args: number[]): void;
  channelAffine(...args: number[]): void;
  convFilterGrad(...args: number[]): void;
  maskedCopy(cmp: MaskCmp, dy: number, x: number, n: number, s: number, out: number): void;
  /** Heap byte offset of a tensor (unsigned: the heap may be up to 4 GiB). */
  ptr(t: tf.TensorInfo): number;
  /** Heap byte offset of a fresh block (unsigned, like ptr). */
  malloc(bytes: number): number;
  free(p: number): void;
}

let cached: { backend: unknown; simd: Simd } | null = null;

/** The SIMD kernels bound to this wasm backend instance's memory. */
export function simdFor(backend: unknown): Simd {
  if (cached && cached.backend === backend) return cached.simd;
  const be = backend as BackendLike;
  const funcs: FuncDef[] = [
    colsum(),
    dwFilterGrad(),
    dwInputGrad(),
    copy4(),
    transpose2d(),
    channelAffine(),
    convFilterGrad(),
    colReduce('bnGradSums', 2, (dy, x, m) => [dy, [...dy, ...x, ...m, I.f32x4_sub(), I.f32x4_mul()]]),
    colReduce('sqDevSum', 1, (x, _u, m) => [[...x, ...m, I.f32x4_sub(), ...x, ...m, I.f32x4_sub(), I.f32x4_mul()]]),
    ...(Object.keys(MASK_CMPS) as MaskCmp[]).map(maskedCopy),
  ];
  for (const op of Object.keys(BINARY_OPS) as BinaryOp[]) {
    for (const [ma, mb] of OPERAND_PAIRS) funcs.push(binary(op, ma, mb));
  }
  const bytes = assemble(funcs);
  const inst = new WA.Instance(new WA.Module(bytes), { env: { memory: be.wasm.asm.memory } });
  const ex = inst.exports as Record<string, (...a: number[]) => void>;
  const simd: Simd = {
    colsum: ex['colsum']!,
    binary: (op, ma, mb, ...rest) => ex[`${op}_${ma}_${mb}`]!(...rest),
    dwFilterGrad: ex['dwFilterGrad']!,
    dwInputGrad: ex['dwInputGrad']!,
    copy4: ex['copy4']!,
    transpose2d: ex['transpose2d']!,
    bnGradSums: ex['bnGradSums']!,
    sqDevSum: ex['sqDevSum']!,
    channelAffine: ex['channelAffine']!,
    convFilterGrad: ex['convFilterGrad']!,
    maskedCopy: (cmp, ...rest) => ex[`mask_${cmp}`]!(...rest),
    // Heap addresses are read unsigned (`>>> 0`): wasm32 addresses go up to
    // 4 GiB, but an i32 result (`_malloc`, or an offset a C++ kernel hands
    // back to makeOutput) reads as negative in JS from 2 GiB on, and a
    // negative typed-array offset throws a RangeError. Passing the unsigned
    // number back into an i32 parameter is fine (ToInt32 wraps to the same
    // bits, and wasm loads/stores treat addresses as unsigned).
    ptr: (t) => {
      const d = be.dataIdMap.get(t.dataId);
      if (d == null) throw new Error('simd: tensor is not on the wasm backend');
      return d.memoryOffset >>> 0;
    },
    malloc: (n) => be.wasm._malloc(n) >>> 0,
    free: (p) => be.wasm._free(p),
  };
  cached = { backend, simd };
  return simd;
}
