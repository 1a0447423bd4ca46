/**
 * A tiny WebAssembly assembler: just enough to emit a module of f32 SIMD loops
 * that imports tfjs-backend-wasm's linear memory, so that Frugal's kernels can
 * work directly on wasm tensors (no copies) at SIMD speed.
 *
 * Functions are written as a flat list of instructions built with the helpers
 * below (`I.*`). Only the opcodes Frugal uses are defined.
 */

export type ValType = 'i32' | 'f32' | 'f64' | 'v128';
const VT: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b };

function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
  return out;
}

function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return out;
    }
    out.push(b | 0x80);
  }
}

function f32bytes(v: number): number[] {
  const b = new Uint8Array(new Float32Array([v]).buffer);
  return Array.from(b);
}

function str(s: string): number[] {
  const b = Array.from(new TextEncoder().encode(s));
  return [...uleb(b.length), ...b];
}

/** An instruction is just its bytes. */
export type Ins = number[];
const simd = (op: number, ...imm: number[]): Ins => [0xfd, ...uleb(op), ...imm];
const mem = (align: number, offset = 0): number[] => [...uleb(align), ...uleb(offset)];

/** Instruction helpers (names follow the text format, with '.' -> '_'). */
export const I = {
  block: (): Ins => [0x02, 0x40],
  loop: (): Ins => [0x03, 0x40],
  if_: (): Ins => [0x04, 0x40],
  else_: (): Ins => [0x05],
  end: (): Ins => [0x0b],
  br: (depth: number): Ins => [0x0c, ...uleb(depth)],
  br_if: (depth: number): Ins => [0x0d, ...uleb(depth)],
  return_: (): Ins => [0x0f],
  drop: (): Ins => [0x1a],
  select: (): Ins => [0x1b],
  get: (i: number): Ins => [0x20, ...uleb(i)],
  set: (i: number): Ins => [0x21, ...uleb(i)],
  tee: (i: number): Ins => [0x22, ...uleb(i)],
  i32: (v: number): Ins => [0x41, ...sleb(v | 0)],
  f32: (v: number): Ins => [0x43, ...f32bytes(v)],
  i32_load: (off = 0): Ins => [0x28, ...mem(2, off)],
  f32_load: (off = 0): Ins => [0x2a, ...mem(2, off)],
  f64_load: (off = 0): Ins => [0x2b, ...mem(3, off)],
  i32_load8_u: (off = 0): Ins => [0x2d, ...mem(0, off)],
  i32_store: (off = 0): Ins => [0x36, ...mem(2, off)],
  f32_store: (off = 0): Ins => [0x38, ...mem(2, off)],
  f64_store: (off = 0): Ins => [0x39, ...mem(3, off)],
  i32_store8: (off = 0): Ins => [0x3a, ...mem(0, off)],
  i32_eqz: (): Ins => [0x45],
  i32_eq: (): Ins => [0x46],
  i32_ne: (): Ins => [0x47],
  i32_lt_s: (): Ins => [0x48],
  i32_lt_u: (): Ins => [0x49],
  i32_gt_s: (): Ins => [0x4a],
  i32_le_s: (): Ins => [0x4c],
  i32_ge_s: (): Ins => [0x4e],
  f32_eq: (): Ins => [0x5b],
  f32_ne: (): Ins => [0x5c],
  f32_lt: (): Ins => [0x5d],
  f32_gt: (): Ins => [0x5e],
  f32_le: (): Ins => [0x5f],
  f32_ge: (): Ins => [0x60],
  i32_add: (): Ins => [0x6a],
  i32_sub: (): Ins => [0x6b],
  i32_mul: (): Ins => [0x6c],
  i32_div_s: (): Ins => [0x6d],
  i32_rem_s: (): Ins => [0x6f],
  i32_and: (): Ins => [0x71],
  i32_or: (): Ins => [0x72],
  i32_shl: (): Ins => [0x74],
  i32_shr_s: (): Ins => [0x75],
  i32_shr_u: (): Ins => [0x76],
  f32_neg: (): Ins => [0x8c],
  f32_add: (): Ins => [0x92],
  f32_sub: (): Ins => [0x93],
  f32_mul: (): Ins => [0x94],
  f32_div: (): Ins => [0x95],
  f32_min: (): Ins => [0x96],
  f32_max: (): Ins => [0x97],
  f64_add: (): Ins => [0xa0],
  f64_mul: (): Ins => [0xa2],
  f32_demote_f64: (): Ins => [0xb6],
  f64_promote_f32: (): Ins => [0xbb],
  memory_copy: (): Ins => [0xfc, ...uleb(10), 0x00, 0x00],
  memory_fill: (): Ins => [0xfc, ...uleb(11), 0x00],
  v128_load: (off = 0): Ins => simd(0x00, ...mem(0, off)),
  v128_store: (off = 0): Ins => simd(0x0b, ...mem(0, off)),
  v128_load32_splat: (off = 0): Ins => simd(0x09, ...mem(2, off)),
  v128_const0: (): Ins => simd(0x0c, ...new Array(16).fill(0)),
  i8x16_splat: (): Ins => simd(0x0f),
  f32x4_splat: (): Ins => simd(0x13),
  f32x4_extract_lane: (lane: number): Ins => simd(0x1f, lane),
  f32x4_eq: (): Ins => simd(0x41),
  f32x4_ne: (): Ins => simd(0x42),
  f32x4_lt: (): Ins => simd(0x43),
  f32x4_gt: (): Ins => simd(0x44),
  f32x4_le: (): Ins => simd(0x45),
  f32x4_ge: (): Ins => simd(0x46),
  v128_and: (): Ins => simd(0x4e),
  v128_bitselect: (): Ins => simd(0x52),
  i8x16_narrow_i16x8_s: (): Ins => simd(0x65),
  i16x8_narrow_i32x4_s: (): Ins => simd(0x85),
  f32x4_add: (): Ins => simd(0xe4),
  f32x4_sub: (): Ins => simd(0xe5),
  f32x4_mul: (): Ins => simd(0xe6),
  f32x4_div: (): Ins => simd(0xe7),
  f32x4_min: (): Ins => simd(0xe8),
  f32x4_max: (): Ins => simd(0xe9),
};

export interface FuncDef {
  name: string;
  params: ValType[];
  results?: ValType[];
  /** Extra locals (indices continue after the params). */
  locals?: ValType[];
  body: Ins[];
}

/** Builds a module importing `env.memory` and exporting the given functions. */
export function assemble(funcs: FuncDef[]): Uint8Array {
  const section = (id: number, content: number[]) => [id, ...uleb(content.length), ...content];
  const types: number[] = [];
  for (const f of funcs) {
    types.push(0x60, ...uleb(f.params.length), ...f.params.map((p) => VT[p]), ...uleb((f.results ?? []).length), ...(f.results ?? []).map((p) => VT[p]));
  }
  const typeSec = section(1, [...uleb(funcs.length), ...types]);
  // import env.memory, limits: min 1, no max
  const importSec = section(2, [...uleb(1), ...str('env'), ...str('memory'), 0x02, 0x00, ...uleb(1)]);
  const funcSec = section(3, [...uleb(funcs.length), ...funcs.flatMap((_, i) => uleb(i))]);
  const exportSec = section(7, [...uleb(funcs.length), ...funcs.flatMap((f, i) => [...str(f.name), 0x00, ...uleb(i)])]);
  const bodies = funcs.map((f) => {
    const locals = f.locals ?? [];
    // group consecutive equal local types
    const groups: Array<[number, ValType]> = [];
    for (const t of locals) {
      const last = groups[groups.length - 1];
      if (last && last[1] === t) last[0]++;
      else groups.push([1, t]);
    }
    const code = [...uleb(groups.length), ...groups.flatMap(([n, t]) => [...uleb(n), VT[t]]), ...f.body.flat(), 0x0b];
    return [...uleb(code.length), ...code];
  });
  const codeSec = section(10, [...uleb(funcs.length), ...bodies.flat()]);
  return new Uint8Array([0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, ...typeSec, ...importSec, ...funcSec, ...exportSec, ...codeSec]);
}

/**
 * Helper for the common counted loop:
 *   i = start; if (i < end) do { body; i += step } while (i < end)
 * `i` and `end` are local indices.
 */
export function forLoop(i: number, start: Ins[], end: Ins[], step: number, body: Ins[]): Ins[] {
  return [
    ...start,
    I.set(i),
    I.block(),
    I.get(i),
    ...end,
    I.i32_ge_s(),
    I.br_if(0),
    I.loop(),
    ...body,
    I.get(i),
    I.i32(step),
    I.i32_add(),
    I.tee(i),
    ...end,
    I.i32_lt_s(),
    I.br_if(0),
    I.end(),
    I.end(),
  ];
}
