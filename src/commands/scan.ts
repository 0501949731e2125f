// `migrate scan [PATH...]`: find agents and classify them; `--check` makes it a CI gate
// that exits 1 while legacy agents remain.
import { loadProfile } from '../profile/profile.js';
import { scanRepository } from '../discover/scan.js';
import { argumentScope, findAgent } from '../discover/resolve.js';
import { printScanJson, printScanTable } from '../report/scan-printer.js';
import { resolveRoot, verbose, type CommonFlags } from './common.js';

export interface ScanFlags extends CommonFlags {
  profile: string;
  ignore?: string[];
  check?: boolean;
  json?: boolean;
  jobs?: number;
}

export async function scanCommand(paths: string[], flags: ScanFlags): Promise<number> {
  const root = resolveRoot(flags);
  const profile = loadProfile(flags.profile, root);
  verbose(flags, `profile ${profile.name} (${profile.file})`);
  const scan = await scanRepository(root, profile, { ignore: flags.ignore, jobs: flags.jobs });
  if (paths.length) {
    // Paths, directories and globs narrow the report (an empty directory is no error);
    // anything else must name an agent.
    const scopes = paths.map((p) => argumentScope(root, p));
    const named = new Set(paths.filter((_, i) => !scopes[i]).map((p) => findAgent(scan, root, p).file));
    const covered = (f: string) => named.has(f) || scopes.some((s) => s?.covers(f));
    scan.agents = scan.agents.filter((a) => covered(a.file));
    scan.skipped = scan.skipped.filter((s) => covered(s.file));
  }
  if (flags.json) printScanJson(scan);
  else printScanTable(scan);
  const legacy = scan.agents.filter((a) => a.status === 'legacy');
  if (flags.check && legacy.length) {
    const names = legacy.map((a) => a.name);
    process.stderr.write(`migrate: scan --check: ${legacy.length} legacy agent(s) remain: ${names.slice(0, 5).join(', ')}${names.length > 5 ? ', ...' : ''}\n`);
    return 1;
  }
  return 0;
}
