// The repository's own settings for check-config and promote, in <root>/.migrate/config.yaml
// (the file that also holds the validation launch template):
//   check_config:
//     port_range: [5000, 9000]     # the fleet's port block (seed 000, risk C)
//   promote:
//     mode: replace                # or script_path: switch the config to the _v2 file
//   profile: hardened-agent-base   # the profile when --profile is not given (src/profile/choose.ts)
import { existsSync, readFileSync } from 'node:fs';
import YAML, { isMap, LineCounter } from '../core/yaml.js';
import type { Node } from 'yaml';
import { UsageError } from '../core/errors.js';
import { configPath } from '../validate/launch.js';

export type PromoteMode = 'replace' | 'script_path';
export const PROMOTE_MODES: PromoteMode[] = ['replace', 'script_path'];

export interface RepoSettings {
  portRange: [number, number];
  promoteMode: PromoteMode;
  /** `profile: NAME`: the repository's pinned profile, with `file:line` for messages. */
  profile?: { name: string; origin: string };
}

/** Seed 000 allocates every agent's ports in 5000-9000. */
export const DEFAULT_PORT_RANGE: [number, number] = [5000, 9000];

export function readRepoSettings(root: string): RepoSettings {
  const out: RepoSettings = { portRange: DEFAULT_PORT_RANGE, promoteMode: 'replace' };
  const file = configPath(root);
  if (!existsSync(file)) return out;
  const lines = new LineCounter();
  const doc = YAML.parseDocument(readFileSync(file, 'utf8'), { lineCounter: lines });
  const lineOf = (n: unknown) => lines.linePos((n as Node | undefined)?.range?.[0] ?? 0).line;
  if (doc.errors.length) {
    throw new UsageError(`${file}:${doc.errors[0]!.linePos?.[0]?.line ?? 1}: invalid YAML: ${doc.errors[0]!.message.split('\n')[0]}`);
  }
  const range = doc.getIn(['check_config', 'port_range'], true);
  if (range !== undefined) {
    const v = (range as Node).toJSON?.() as unknown;
    if (!Array.isArray(v) || v.length !== 2 || !v.every((p) => Number.isInteger(p) && p >= 1 && p <= 65535) || v[0] > v[1]) {
      throw new UsageError(`${file}:${lineOf(range)}: check_config.port_range must be [low, high], two port numbers, low first`);
    }
    out.portRange = [v[0], v[1]];
  }
  const promote = doc.get('promote', true);
  if (promote !== undefined && !isMap(promote)) throw new UsageError(`${file}:${lineOf(promote)}: promote must be a mapping`);
  const mode = doc.getIn(['promote', 'mode']);
  if (mode !== undefined) {
    if (!PROMOTE_MODES.includes(mode as PromoteMode)) {
      throw new UsageError(`${file}:${lineOf(doc.getIn(['promote', 'mode'], true))}: promote.mode must be one of ${PROMOTE_MODES.join(', ')}`);
    }
    out.promoteMode = mode as PromoteMode;
  }
  const pinned = doc.get('profile', true);
  if (pinned !== undefined && pinned !== null) {
    const name = (pinned as Node).toJSON?.() as unknown;
    if (typeof name !== 'string' || name.trim() === '') {
      throw new UsageError(`${file}:${lineOf(pinned)}: profile must be a profile name (under templates/profiles or .migrate/profiles) or a file`);
    }
    out.profile = { name: name.trim(), origin: `${file}:${lineOf(pinned)}` };
  }
  return out;
}
