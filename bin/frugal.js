#!/usr/bin/env node
// The `frugal` command: runs the compiled CLI (`npm ci` builds it; `npm run build` rebuilds).
import { existsSync } from 'node:fs';
const main = new URL('../dist/src/cli/main.js', import.meta.url);
if (!existsSync(main)) {
  process.stderr.write('frugal is not built yet: run `npm run build` in the package folder\n');
  process.exit(1);
}
await import(main.href);
