/**
 * Policy strings:
 *
 *   policy  := term ('+' term)*
 *   term    := 'none' | 'trivial' | 'basic' [':' params] | 'randaugment' [':' params]
 *            | ('mixup' | 'cutmix') ['=' alpha | ':alpha=' alpha]
 *   params  := key '=' number (',' key '=' number)*
 *
 * e.g. `randaugment:n=2,m=9`, `trivial`, `basic`, `none`, `basic+randaugment:n=1,m=5+mixup=0.2`,
 * `trivial+cutmix=1.0`. Image stages run in the order written; mixup/cutmix are batch ops.
 * `formatPolicy` writes the canonical form, and parsePolicy(formatPolicy(spec)) equals spec.
 */
import { MAX_BIN } from '../magnitudes.js';
import { RANDAUGMENT_MAX_N } from './randaugment.js';
import type { ImageStage, MixStage, PolicySpec } from './types.js';

export class PolicyParseError extends Error {
  constructor(
    readonly policy: string,
    detail: string,
  ) {
    super(`bad augmentation policy ${JSON.stringify(policy)}: ${detail}`);
    this.name = 'PolicyParseError';
  }
}

const IMAGE_STAGES = ['none', 'basic', 'trivial', 'randaugment'] as const;
const MIX_STAGES = ['mixup', 'cutmix'] as const;
const DEFAULT_ALPHA = { mixup: 0.2, cutmix: 1.0 } as const;
const NUMBER = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function parseNumber(text: string, fail: (d: string) => never, what: string): number {
  if (!NUMBER.test(text)) fail(`${what} must be a number, got ${JSON.stringify(text)}`);
  return Number(text);
}

function parseParams(text: string, allowed: readonly string[], stage: string, fail: (d: string) => never): Map<string, string> {
  const out = new Map<string, string>();
  if (text.trim() === '') fail(`'${stage}:' needs parameters (${allowed.map((k) => `${k}=…`).join(',')}) or no colon`);
  for (const part of text.split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) fail(`parameter ${JSON.stringify(part.trim())} of '${stage}' must look like key=value`);
    const key = part.slice(0, eq).trim().toLowerCase();
    const value = part.slice(eq + 1).trim();
    if (!allowed.includes(key)) fail(`'${stage}' has no parameter '${key}' (allowed: ${allowed.join(', ')})`);
    if (out.has(key)) fail(`parameter '${key}' of '${stage}' is given twice`);
    out.set(key, value);
  }
  return out;
}

function intParam(params: Map<string, string>, key: string, dflt: number, lo: number, hi: number, stage: string, fail: (d: string) => never): number {
  const raw = params.get(key);
  if (raw === undefined) return dflt;
  const v = parseNumber(raw, fail, `${stage} ${key}`);
  if (!Number.isInteger(v) || v < lo || v > hi) fail(`${stage} ${key} must be an integer ${lo}..${hi}, got ${raw}`);
  return v;
}

export function parsePolicy(text: string): PolicySpec {
  const fail = (detail: string): never => {
    throw new PolicyParseError(text, detail);
  };
  if (typeof text !== 'string' || text.trim() === '') fail('empty policy (use "none" for no augmentation)');
  const stages: ImageStage[] = [];
  const mix: MixStage[] = [];
  let sawNone = false;
  const seen = new Set<string>();
  for (const rawTerm of text.split('+')) {
    const term = rawTerm.trim();
    if (term === '') fail("empty term (two '+' in a row, or a leading/trailing '+')");
    const m = /^([A-Za-z][A-Za-z0-9_-]*)\s*([:=])?(.*)$/s.exec(term);
    if (!m) fail(`cannot read term ${JSON.stringify(term)}`);
    const name = m![1]!.toLowerCase();
    const sep = m![2];
    const rest = m![3]!;
    if (sep === undefined && rest.trim() !== '') fail(`cannot read term ${JSON.stringify(term)}`);
    if (seen.has(name)) fail(`'${name}' appears more than once`);
    seen.add(name);
    if ((MIX_STAGES as readonly string[]).includes(name)) {
      const kind = name as MixStage['kind'];
      let alpha: number = DEFAULT_ALPHA[kind];
      if (sep === '=') alpha = parseNumber(rest.trim(), fail, `${kind} alpha`);
      else if (sep === ':') alpha = parseNumber(parseParams(rest, ['alpha'], kind, fail).get('alpha')!, fail, `${kind} alpha`);
      if (!(Number.isFinite(alpha) && alpha > 0)) fail(`${kind} alpha must be > 0, got ${alpha}`);
      mix.push({ kind, alpha });
      continue;
    }
    if (!(IMAGE_STAGES as readonly string[]).includes(name)) {
      fail(`unknown term '${name}' (expected one of ${[...IMAGE_STAGES, ...MIX_STAGES].join(', ')})`);
    }
    if (sep === '=') fail(`'${name}' takes parameters as '${name}:key=value', not '${name}=…'`);
    switch (name) {
      case 'none':
        if (sep !== undefined) fail("'none' takes no parameters");
        sawNone = true;
        break;
      case 'trivial':
        if (sep !== undefined) fail("'trivial' takes no parameters");
        stages.push({ kind: 'trivial' });
        break;
      case 'randaugment': {
        const p = sep === ':' ? parseParams(rest, ['n', 'm'], name, fail) : new Map<string, string>();
        const n = intParam(p, 'n', 2, 0, RANDAUGMENT_MAX_N, name, fail);
        const mm = intParam(p, 'm', 9, 0, MAX_BIN, name, fail);
        stages.push({ kind: 'randaugment', n, m: mm });
        break;
      }
      case 'basic': {
        const p = sep === ':' ? parseParams(rest, ['pad', 'flip'], name, fail) : new Map<string, string>();
        const st: ImageStage = { kind: 'basic' };
        if (p.has('pad')) st.pad = intParam(p, 'pad', 0, 0, 4096, name, fail);
        if (p.has('flip')) {
          const f = parseNumber(p.get('flip')!, fail, 'basic flip');
          if (!(f >= 0 && f <= 1)) fail(`basic flip must be a probability 0..1, got ${p.get('flip')}`);
          st.flip = f;
        }
        stages.push(st);
        break;
      }
    }
  }
  if (sawNone && stages.length > 0) fail("'none' cannot be combined with other image stages");
  return { stages, mix };
}

function fmtAlpha(a: number): string {
  return Number.isInteger(a) ? a.toFixed(1) : String(a);
}

export function formatPolicy(spec: PolicySpec): string {
  const parts: string[] = [];
  for (const st of spec.stages) {
    switch (st.kind) {
      case 'randaugment':
        parts.push(`randaugment:n=${st.n},m=${st.m}`);
        break;
      case 'trivial':
        parts.push('trivial');
        break;
      case 'basic': {
        const ps: string[] = [];
        if (st.pad !== undefined) ps.push(`pad=${st.pad}`);
        if (st.flip !== undefined) ps.push(`flip=${st.flip}`);
        parts.push(ps.length ? `basic:${ps.join(',')}` : 'basic');
        break;
      }
    }
  }
  if (parts.length === 0) parts.push('none');
  for (const mx of spec.mix) parts.push(`${mx.kind}=${fmtAlpha(mx.alpha)}`);
  return parts.join('+');
}
