import { Command } from 'commander';
import { probeBackends } from '../../engine/backend.js';
import { forwardInfo } from '../../engine/onnx-runtime.js';
import { printJson } from '../options.js';
import { isBuiltin, listPretrained } from '../../models/backbones/pretrained.js';

export function doctorCommand(): Command {
  return new Command('doctor')
    .description(
      'which TF.js backends work here (versions, threads, SIMD), what runs forward passes, and the pretrained models: built in, or downloaded on first use',
    )
    .option('--json', 'print one JSON object')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal doctor
  $ frugal doctor --json`,
    )
    .action(async (f: { json?: boolean }) => {
      const probe = await probeBackends();
      const models = listPretrained().map((e) => ({
        name: e.name,
        builtin: isBuiltin(e),
        format: e.format,
        input: `${e.size}x${e.size}x${e.channels}`,
        description: e.description,
        location: e.dir ?? e.url,
      }));
      const forward = forwardInfo();
      if (f.json) return printJson({ ...probe, forward, models });
      const lines = [`backend chosen by default: ${probe.autoChoice}`, ''];
      for (const b of probe.backends) lines.push(`  ${b.name.padEnd(11)} ${b.usable ? 'usable  ' : 'unusable'}  ${b.version ?? '-'}  ${b.reason}`);
      const threaded = probe.wasm.threadsSupported ? 'available' : 'not available in Node';
      lines.push('', `wasm: SIMD ${probe.wasm.simd ? 'yes' : 'no'}, threads ${probe.wasm.threads} (multi-threaded build ${threaded})`);
      lines.push(
        `cores: ${probe.cpus}`,
        `versions: ${Object.entries(probe.versions)
          .map(([k, v]) => `${k} ${v ?? '-'}`)
          .join(', ')}`,
      );
      lines.push(
        forward.engine === 'onnx'
          ? `forward passes (features, predictions): ONNX Runtime ${forward.onnxRuntime}, ${forward.threads} threads (FRUGAL_FORWARD=tfjs to keep them on TF.js)`
          : 'forward passes (features, predictions): TF.js (FRUGAL_FORWARD=tfjs)',
      );
      lines.push('', 'pretrained models (--backbone <name>):');
      for (const m of models) lines.push(`  ${m.name.padEnd(28)} ${m.builtin ? 'built in   ' : 'downloaded '} ${m.input.padEnd(11)} ${m.description}`);
      process.stdout.write(lines.join('\n') + '\n');
    });
}
