import { Command } from 'commander';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { exportSite, serveStatic } from '../../export/site.js';
import { int, printJson } from '../options.js';

export function serveCommand(): Command {
  return new Command('serve')
    .description('a browser demo: a page that loads the model (TF.js) and classifies an image you drop on it')
    .argument('<model>', 'model directory')
    .option('--port <n>', 'port (0: any free port)', int('--port', 0, 65535), 8080)
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--export <dir>', 'write the static site to this folder (for any static host) instead of serving it')
    .option('--json', 'print one JSON object (the URL, or the exported files)')
    .addHelpText(
      'after',
      `
Examples:
  $ frugal serve ./model                 # then open http://127.0.0.1:8080/
  $ frugal serve ./model --export ./site # upload ./site to any static host`,
    )
    .action(async (model: string, f: { port: number; host: string; export?: string; json?: boolean }) => {
      if (f.export) {
        const res = await exportSite(model, f.export);
        if (f.json) return printJson(res);
        process.stdout.write(`static site written to ${res.out} (${res.files.length} files)\n`);
        return;
      }
      const dir = await mkdtemp(path.join(tmpdir(), 'frugal-site-'));
      await exportSite(model, dir);
      const server = await serveStatic(dir, f.port, f.host);
      if (f.json) printJson({ url: server.url, model });
      else process.stdout.write(`serving the demo of ${model} at ${server.url} (Ctrl-C to stop)\n`);
      await new Promise<void>((resolve) => process.once('SIGINT', () => void server.close().then(resolve)));
    });
}
