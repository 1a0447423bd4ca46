import { Command } from 'commander';
import { probeBackends } from '../../engine/backend.js';
import { printJson } from '../options.js';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description('which TF.js backends work here, with versions, threads and SIMD')
    .option('--json', 'print one JSON object')
    .addHelpText('after', `
Examples:
  $ frugal doctor
  $ frugal doctor --json`)
    .action(async (f: { json?: boolean }) => {
      const probe = await probeBackends();
      if (f.json) return printJson(probe);
      const lines = [`backend chosen by default: ${probe.autoChoice}`, ''];
      for (const b of probe.backends) lines.push(`  ${b.name.padEnd(11)} ${b.usable ? 'usable  ' : 'unusable'}  ${b.version ?? '-'}  ${b.reason}`);
      lines.push('', `wasm: SIMD ${probe.wasm.simd ? 'yes' : 'no'}, threads ${probe.wasm.threads} (multi-threaded build ${probe.wasm.threadsSupported ? 'available' : 'not available in Node'})`);
      lines.push(`cores: ${probe.cpus}`, `versions: ${Object.entries(probe.versions).map(([k, v]) => `${k} ${v ?? '-'}`).join(', ')}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
