// AGENT on the command line: a class name, a file path relative to the root (the legacy
// file or its `_v2`), or a name from a startup config.
import path from 'node:path';
import type { AgentInfo, ScanResult } from '../core/types.js';
import { UsageError } from '../core/errors.js';
import type { Profile } from '../profile/profile.js';
import { scanRepository } from './scan.js';

export function findAgent(scan: ScanResult, root: string, nameOrPath: string): AgentInfo {
  const rel = path.isAbsolute(nameOrPath)
    ? path.relative(root, nameOrPath).split(path.sep).join('/')
    : path.normalize(nameOrPath).split(path.sep).join('/');
  const hit =
    scan.agents.find((a) => a.name === nameOrPath || a.class === nameOrPath) ??
    scan.agents.find((a) => a.file === rel || a.output === rel) ??
    scan.agents.find((a) => a.config_names?.includes(nameOrPath));
  if (hit) {
    const sameClass = scan.agents.filter((a) => a.class === nameOrPath);
    if (sameClass.length > 1 && hit.name !== nameOrPath) {
      throw new UsageError(`"${nameOrPath}" is ambiguous: ${sameClass.map((a) => a.file).join(', ')}; name the file instead`);
    }
    return hit;
  }
  const skipped = scan.skipped.find((s) => s.file === rel);
  if (skipped) throw new UsageError(`${rel} is not an agent: ${skipped.reason}`);
  throw new UsageError(`no agent named "${nameOrPath}" under ${root} (try \`migrate scan\`)`);
}

export async function resolveAgent(root: string, nameOrPath: string, profile: Profile): Promise<AgentInfo> {
  return findAgent(await scanRepository(root, profile), path.resolve(root), nameOrPath);
}
