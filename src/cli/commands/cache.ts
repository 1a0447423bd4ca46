import { Argument, Command, InvalidArgumentError } from 'commander';
import {
  CACHE_KINDS,
  CACHE_LIMIT_VARIABLE,
  DEFAULT_CACHE_LIMIT,
  LIMITED_CACHE_KINDS,
  cacheInfo,
  cacheLimit,
  clearCache,
  formatBytes,
  parseByteSize,
  pruneCache,
  type CacheInfo,
  type CacheKind,
} from '../../util/cache-dir.js';
import { printJson } from '../options.js';

const LIMITED = LIMITED_CACHE_KINDS.join(' + ');

export function cacheCommand(): Command {
  const cmd = new Command('cache').description(
    `the cache folder ($FRUGAL_CACHE, else $XDG_CACHE_HOME/frugal or ~/.cache/frugal): decoded images and features (held to ${CACHE_LIMIT_VARIABLE}, ` +
      `default ${formatBytes(DEFAULT_CACHE_LIMIT)}, least recently used evicted first) and downloaded models`,
  );

  cmd
    .command('info')
    .description('the cache folder, the size and entries of each kind of cache, and the size limit')
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal cache info
  $ frugal cache info --json | jq .kinds.decoded.bytes
  $ FRUGAL_CACHE_LIMIT=500MB frugal cache info    # the limit a run would keep to`,
    )
    .action(async (f: { json?: boolean }) => {
      const info = await cacheInfo();
      if (f.json) return printJson(info);
      process.stdout.write(renderInfo(info));
    });

  cmd
    .command('clear')
    .description('remove every entry of these kinds of cache (default: all); prints what it freed')
    .addArgument(new Argument('[kinds...]', 'decoded, features, models').choices(CACHE_KINDS))
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal cache clear
  $ frugal cache clear decoded features   # keep the downloaded models`,
    )
    .action(async (kinds: CacheKind[], f: { json?: boolean }) => {
      const res = await clearCache(kinds.length ? [...new Set(kinds)] : CACHE_KINDS);
      if (f.json) return printJson(res);
      const parts = Object.entries(res.kinds).map(([kind, k]) => `${kind} ${formatBytes(k.bytes)} (${entries(k.entries)})`);
      process.stdout.write(`freed ${formatBytes(res.freed)} in ${res.folder}: ${parts.join(', ')}\n`);
    });

  cmd
    .command('prune')
    .description('evict the least recently used decoded images and features until they hold at most 90% of the limit (runs do this themselves)')
    .option(
      '--limit <size>',
      `size limit, e.g. 500MB or 2GB (default: $${CACHE_LIMIT_VARIABLE}, else ${formatBytes(DEFAULT_CACHE_LIMIT)})`,
      byteSize('--limit'),
    )
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal cache prune --limit 500MB
  $ frugal cache prune --json`,
    )
    .action(async (f: { limit?: number; json?: boolean }) => {
      const res = await pruneCache({ limit: f.limit ?? cacheLimit() });
      if (f.json) return printJson(res);
      process.stdout.write(
        `evicted ${entries(res.evicted)} (${formatBytes(res.freed)}); ${LIMITED} now ${formatBytes(res.bytes)}, limit ${formatBytes(res.limit)}\n`,
      );
    });
  return cmd;
}

/** A commander parser of sizes (`500MB`, `2GB`, `0`): anything else is a usage error (exit 2). */
function byteSize(name: string) {
  return (value: string): number => {
    const bytes = parseByteSize(value);
    if (bytes === null) throw new InvalidArgumentError(`${name} must be a size such as 500MB or 2GB, got "${value}"`);
    return bytes;
  };
}

function entries(n: number): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? 'entry' : 'entries'}`;
}

function renderInfo(info: CacheInfo): string {
  const lines = [`cache folder: ${info.folder}`];
  for (const kind of CACHE_KINDS) {
    const k = info.kinds[kind];
    lines.push(`  ${kind.padEnd(9)} ${formatBytes(k.bytes).padStart(10)}  ${entries(k.entries).padStart(16)}${k.limited ? '' : '  (not limited)'}`);
  }
  const limit =
    info.limit === 0
      ? `0: no caching (${CACHE_LIMIT_VARIABLE})`
      : `${formatBytes(info.limit)}${process.env[CACHE_LIMIT_VARIABLE] ? ` (${CACHE_LIMIT_VARIABLE})` : ` (default; set ${CACHE_LIMIT_VARIABLE} to change it)`}`;
  lines.push(`limit of ${LIMITED}: ${limit}; in use ${formatBytes(info.limitedBytes)}`);
  return lines.join('\n') + '\n';
}
