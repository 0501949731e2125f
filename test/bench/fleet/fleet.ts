// A deterministic fleet of generated legacy agents for the benchmark and the large-fleet test:
// Python and TypeScript agents of 200-1,500 lines (log-uniform, so most are a few hundred
// lines and some are long), in the fixture families, beside the repository's own base class.
// The same (count, seed, share) always writes the same bytes.
import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Random } from './random.js';
import { pythonAgent, type GeneratedFile } from './python-agent.js';
import { typescriptAgent } from './typescript-agent.js';

export interface FleetOptions {
  seed?: number;
  /** Share of TypeScript agents, 0..1 (default 0.1). */
  typescriptShare?: number;
  minLines?: number;
  maxLines?: number;
}

export interface Fleet {
  root: string;
  files: GeneratedFile[];
  bytes: number;
  lines: number;
}

/** The files of a fleet, without writing them. */
export function fleetFiles(count: number, opts: FleetOptions = {}): GeneratedFile[] {
  const r = new Random(opts.seed ?? 15);
  const share = opts.typescriptShare ?? 0.1;
  const lo = Math.log(opts.minLines ?? 200);
  const hi = Math.log(opts.maxLines ?? 1500);
  const out: GeneratedFile[] = [];
  let ts = 0;
  for (let i = 0; i < count; i++) {
    const lines = Math.round(Math.exp(lo + r.next() * (hi - lo)));
    // Spread TypeScript agents evenly through the fleet (every 1/share-th agent).
    const wantTs = share > 0 && Math.floor((i + 1) * share) > ts;
    if (wantTs) ts++;
    out.push(wantTs ? typescriptAgent(i, lines, r) : pythonAgent(i, lines, r));
  }
  return out;
}

/** Write a fleet under `root` with the Python base class where the base-agent profile finds it. */
export function writeFleet(root: string, count: number, opts: FleetOptions & { baseDir: string }): Fleet {
  mkdirSync(root, { recursive: true });
  cpSync(opts.baseDir, root, { recursive: true });
  const files = fleetFiles(count, opts);
  let bytes = 0;
  let lines = 0;
  for (const f of files) {
    const abs = path.join(root, f.rel);
    mkdirSync(path.dirname(abs), { recursive: true });
    writeFileSync(abs, f.text);
    bytes += Buffer.byteLength(f.text);
    lines += f.text.split('\n').length;
  }
  return { root, files, bytes, lines };
}
