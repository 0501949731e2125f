// `migrate scan`: find agents and classify them.
import path from 'node:path';
import { loadProfile } from '../profile/profile.js';
import { scanRepository } from '../discover/scan.js';
import { printScanJson, printScanTable } from '../report/scan-printer.js';
import { requireDirectory } from './common.js';

export async function scanCommand(opts: { root: string; profile: string; json?: boolean }): Promise<number> {
  const root = requireDirectory(opts.root);
  const profile = loadProfile(opts.profile, root);
  const scan = await scanRepository(path.resolve(root), profile);
  if (opts.json) printScanJson(scan);
  else printScanTable(scan);
  return 0;
}
