import { writeFileAtomic } from '../util/fs.js';
import { readRunArtifacts } from '../runs/artifacts.js';
import { runFile } from '../runs/files.js';
import { renderReport } from './html.js';

/** Write a self-contained HTML report of a run directory. */
export async function writeReport(runDir: string, out?: string): Promise<{ out: string; sections: string[] }> {
  const artifacts = await readRunArtifacts(runDir);
  const html = await renderReport(artifacts);
  const file = out ?? runFile(runDir, 'report');
  await writeFileAtomic(file, html);
  const sections = [...html.matchAll(/<section id="([^"]+)" class="present"/g)].map((m) => m[1]!);
  return { out: file, sections };
}
