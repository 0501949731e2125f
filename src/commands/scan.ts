// `migrate scan [PATH...]`: find agents and classify them; `--check` makes it a CI gate
// that exits 1 while legacy agents remain.
import { argumentScope, findAgent } from '../discover/resolve.js';
import { listedAgents, printScanJson, printScanTable } from '../report/scan-printer.js';
import { profiledScan, profileJson, resolveRoot, type CommonFlags } from './common.js';
import { CommandFailure, InterruptedError } from '../core/errors.js';
import { interruptedLine, listenForInterrupt } from './interrupt.js';
import { io } from '../core/invocation.js';

export interface ScanFlags extends CommonFlags {
  profile?: string;
  ignore?: string[];
  check?: boolean;
  json?: boolean;
  jobs?: number;
}

export async function scanCommand(paths: string[], flags: ScanFlags): Promise<number> {
  const root = resolveRoot(flags);
  // The profile's detection and the scan read one listing of the root (a scan writes nothing).
  // Ctrl-C stops the scan at its next file (before, a big fleet was scanned to its end first).
  const interrupt = listenForInterrupt();
  const { choice, scan } = await profiledScan(flags, root, { ignore: flags.ignore, jobs: flags.jobs, signal: interrupt.signal })
    .catch((err) => {
      if (!(err instanceof InterruptedError)) throw err;
      throw new CommandFailure(interruptedLine(interrupt), interrupt.exitCode() ?? 130, 'interrupted');
    })
    .finally(() => interrupt.dispose());
  if (paths.length) {
    // Paths, directories and globs narrow the report (an empty directory is no error);
    // anything else must name an agent.
    const scopes = paths.map((p) => argumentScope(root, p));
    const named = new Set(paths.filter((_, i) => !scopes[i]).map((p) => findAgent(scan, root, p).file));
    const covered = (f: string) => named.has(f) || scopes.some((s) => s?.covers(f));
    scan.agents = scan.agents.filter((a) => covered(a.file));
    scan.skipped = scan.skipped.filter((s) => covered(s.file));
    if (scan.units) scan.units = scan.units.filter((u) => covered(u.base.file) || u.members.some((m) => covered(m.file)));
  }
  if (flags.json) printScanJson(scan, profileJson(choice));
  else printScanTable(scan);
  // A file's second legacy agent counts: the gate must not pass while one is left beside a migrated agent.
  const legacy = listedAgents(scan).filter((a) => a.status === 'legacy');
  if (flags.check && legacy.length) {
    const names = legacy.map((a) => a.name);
    io.stderr.write(`migrate: scan --check: ${legacy.length} legacy agent(s) remain: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}\n`);
    return 1;
  }
  return 0;
}
