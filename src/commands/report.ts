// `migrate report`: one self-contained HTML page over the fleet, made from the migration
// log, the records, history and the files in the repository (nothing is re-run).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import '../lang/adapters.js';
import { TOOL_VERSION } from '../core/version.js';
import { writeFileAtomic } from '../record/migration-log.js';
import { localStateDir } from '../record/local-state.js';
import { fleetCountLine, gatherFleet } from '../review/fleet.js';
import { renderReport } from '../report/html/render.js';
import { profiledScan, resolveRoot, type CommonFlags } from './common.js';
import { io } from '../core/invocation.js';

export interface ReportFlags extends CommonFlags {
  profile?: string;
  out?: string;
}

export async function reportCommand(flags: ReportFlags): Promise<number> {
  const root = resolveRoot(flags);
  // The profile's detection and the scan read one listing of the root (nothing is written in between).
  const { choice: { profile }, scan } = await profiledScan(flags, root);
  const fleet = await gatherFleet(root, scan);
  for (const line of fleet.unreadable) io.stderr.write(`migrate: note: ${line}\n`);
  let head: string | null = null;
  try {
    head = execFileSync('git', ['rev-parse', '--verify', '-q', 'HEAD'], { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim() || null;
  } catch {
    head = null; // no commit yet
  }
  const html = renderReport(fleet, {
    title: `Migration review: ${path.basename(root)}`,
    generatedAt: new Date(),
    toolVersion: TOOL_VERSION,
    head,
    registryDeadlineMs: (profile.validation?.registry_deadline_s ?? 30) * 1000,
  });
  const counts = fleetCountLine(fleet);
  // Piped: the page goes to standard output. On a terminal it goes under .git/migrate/, where it
  // never becomes an untracked file that a later `migrate run` would refuse to start with.
  const out = flags.out ?? (io.stdout.isTTY ? path.join(localStateDir(root, '') ?? root, 'report.html') : null);
  if (out === null || out === '-') {
    io.stdout.write(html);
    io.stderr.write(`report: ${counts}\n`);
  } else {
    const abs = path.resolve(out);
    writeFileAtomic(abs, html);
    io.stderr.write(`wrote ${abs}: ${counts}\n`);
  }
  return 0;
}
