// What the scan learnt of each Python file, kept between runs: a migration engineer scans and
// runs the same fleet dozens of times a day, and a file that has not changed need not be parsed
// again (as ruff's and ESLint's caches do). An entry is used only for the very same bytes, at
// the same path, for the same target base, by the same build of this tool and the same python3
// (its compile verdict is part of the entry): anything else is a miss, never a stale answer.
//
// The cache lives outside the repository (XDG_CACHE_HOME or ~/.cache, one file per repository
// root), so a scan writes nothing into the user's tree; MIGRATE_CACHE=0 turns it off.
import { createHash } from 'node:crypto';
import { execFile } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createRequire } from 'node:module';
import type { CheckedPythonFile } from './python-read-pool.js';
import { learnPython3, python3Command } from '../lang/python/python3.js';

/** Entries of roots not scanned for this long are deleted when another root's cache is saved. */
const KEEP_DAYS = 30;

let engine: string | undefined;

/**
 * This build of the tool (a rebuilt engine may classify differently): a hash of each compiled
 * file's path, size, modification and change times and inode. Reading and hashing the 5 MB of
 * code itself was 60-75 ms of CPU on every command; a build rewrites every file, so it still
 * changes the stamp. The change time and inode because an npm-installed tool's files all carry
 * one fixed mtime (npm pack normalises it): two releases with files of equal sizes would match
 * by mtime and size alone, while every install writes new files (new ctimes, new inodes).
 */
export function engineFingerprint(): string {
  if (engine) return engine;
  const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
  const h = createHash('sha256');
  const visit = (dir: string) => {
    let entries: import('node:fs').Dirent[];
    try {
      // In code-unit order: localeCompare's collator alone cost 15-20 ms to start.
      entries = readdirSync(dir, { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    } catch {
      return;
    }
    for (const e of entries) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) visit(p);
      else if (/\.(js|ts|json)$/.test(e.name) && !e.name.endsWith('.d.ts')) {
        const st = statSync(p, { bigint: true });
        h.update(`${p.slice(top.length)}\0${st.size}\0${st.mtimeNs}\0${st.ctimeNs}\0${st.ino}\0`);
      }
    }
  };
  for (const sub of ['src', 'transforms']) visit(path.join(top, sub));
  // The parsers too: another tree-sitter-python or TypeScript may read the same bytes otherwise.
  const require = createRequire(import.meta.url);
  for (const pkg of ['tree-sitter', 'tree-sitter-python', 'typescript', 'ts-morph']) {
    try {
      h.update(readFileSync(require.resolve(`${pkg}/package.json`)));
    } catch {
      h.update(`${pkg}: unknown`);
    }
  }
  return (engine = h.digest('hex'));
}

/**
 * python3's version, asked without holding this thread: through a version manager's shim (pyenv's
 * is a bash script) the start took 0.3 s on a quiet machine and 1.6-2.3 s under load, all of it
 * with the scan waiting; now the caller reads meanwhile. Its sys.executable is learnt as well, so
 * the compile sessions started after it need not go through the shim again. -S: neither answer
 * depends on the site module, whose .pth files cost most of such a start (python-launch.ts).
 */
function python3Version(): Promise<string | null> {
  return new Promise((resolve) => {
    execFile(python3Command(), ['-S', '-c', 'import sys; print(sys.executable); print(sys.version)'], { encoding: 'utf8', timeout: 10_000 }, (err, stdout, stderr) => {
      // What it said on stderr reaches this process's stderr, as it did when the start was synchronous.
      if (stderr) process.stderr.write(stderr);
      if (err) return resolve(null);
      try {
        const [executable, ...version] = stdout.split('\n');
        learnPython3(executable!.trim());
        resolve(version.join('\n').trim());
      } catch {
        resolve(null);
      }
    });
  });
}

/** The cache file of one repository root for one kind of scan (python-scan, typescript-scan). */
export function cacheFileFor(kind: string, root: string): string {
  const base = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache');
  return path.join(base, 'migrate', kind, `${createHash('sha256').update(path.resolve(root)).digest('hex').slice(0, 32)}.json`);
}

/** Is the cache turned off (MIGRATE_CACHE=0)? */
export function cacheOff(): boolean {
  return process.env.MIGRATE_CACHE === '0';
}

/** Write a cache file atomically and prune the other roots' files left unused for KEEP_DAYS. */
export function writeCacheFile(file: string, text: string): void {
  try {
    mkdirSync(path.dirname(file), { recursive: true });
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, text);
    renameSync(tmp, file);
    pruneOld(path.dirname(file), file);
  } catch {
    // a cache that cannot be written only costs the next scan its parse
  }
}

/** Maps survive JSON (facts hold imports and aliases as maps). */
const replacer = (_k: string, v: unknown) => (v instanceof Map ? { __map: [...v] } : v);
/**
 * The maps of parsed JSON back, bottom-up as a JSON.parse reviver would: a reviver (a call from
 * the parser per value) took 70-110 ms of the 2.7 MB cache of a 1,000-agent fleet, this walk
 * 15-60 ms, on every scan the cache answers.
 */
function revive(v: unknown): unknown {
  if (v === null || typeof v !== 'object') return v;
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) v[i] = revive(v[i]);
    return v;
  }
  const o = v as Record<string, unknown>;
  for (const k of Object.keys(o)) {
    // Assigned only when it became a map (a plain assignment to an own `__proto__` would set the prototype).
    const r = revive(o[k]);
    if (r !== o[k]) o[k] = r;
  }
  return '__map' in o ? new Map(o.__map as Array<[unknown, unknown]>) : o;
}

/** A cache entry's key: a file's bytes at its path. */
export function fileKey(rel: string, bytes: Buffer): string {
  return createHash('sha256').update(rel).update('\0').update(bytes).digest('hex');
}

/** A scan cache being opened: its saved entries are known at once, its key once python3 has told its version. */
export interface OpeningScanCache {
  /** Does the saved file hold an entry for this path (whatever its key)? The caller reads those files meanwhile. */
  knows(rel: string): boolean;
  /** The cache, or null when python3 is missing. */
  ready: Promise<PythonScanCache | null>;
}

export class PythonScanCache {
  private entries = new Map<string, { key: string; value: CheckedPythonFile }>();
  private readonly file: string;
  private dirty = false;
  private salt = '';
  /** The file as saved, until its salt is compared with this scan's (see settle). */
  private saved: { salt: string; entries: Map<string, { key: string; value: CheckedPythonFile }> } | null = null;

  private constructor(root: string) {
    this.file = cacheFileFor('python-scan', root);
    try {
      const saved = revive(JSON.parse(readFileSync(this.file, 'utf8'))) as { salt: string; entries: Array<[string, { key: string; value: CheckedPythonFile }]> };
      this.saved = { salt: saved.salt, entries: new Map(saved.entries) };
    } catch {
      // none yet, or unreadable: an empty cache
    }
  }

  /** The saved entries count only under this scan's salt (same build, python3 and target). */
  private settle(salt: string): this {
    this.salt = salt;
    if (this.saved?.salt === salt) this.entries = this.saved.entries;
    this.saved = null;
    return this;
  }

  /**
   * The cache for this root and target, or null when turned off (MIGRATE_CACHE=0); its `ready`
   * is null when python3 is missing. The saved file is read now and python3 asked for its
   * version meanwhile (it is part of the key).
   */
  static open(root: string, target: unknown): OpeningScanCache | null {
    if (cacheOff()) return null;
    const version = python3Version();
    const engine = engineFingerprint();
    const cache = new PythonScanCache(root);
    const saved = cache.saved?.entries;
    return {
      knows: (rel) => saved?.has(rel) ?? false,
      ready: version.then((python) => (python ? cache.settle(createHash('sha256').update(engine).update(python).update(JSON.stringify(target)).digest('hex')) : null)),
    };
  }

  /** What saving a scan of no file would do, without python3 for the key: no entry left for this root. */
  static forget(root: string): void {
    if (cacheOff()) return;
    try {
      rmSync(cacheFileFor('python-scan', root), { force: true });
    } catch {
      // a cache that cannot be removed is keyed by bytes all the same
    }
  }

  has(rel: string): boolean {
    return this.entries.has(rel);
  }

  get(rel: string, key: string): CheckedPythonFile | undefined {
    const e = this.entries.get(rel);
    return e && e.key === key ? structuredClone(e.value) : undefined;
  }

  set(rel: string, key: string, value: CheckedPythonFile): void {
    // A parse kept for a run is no part of what the next scan reuses.
    const { parsed: _, ...kept } = value as CheckedPythonFile & { parsed?: unknown };
    // A copy: what the scan goes on to do with its facts is no part of the entry.
    this.entries.set(rel, { key, value: structuredClone(kept) as CheckedPythonFile });
    this.dirty = true;
  }

  /** Keep only the files of this scan, and write (atomically) when anything changed. */
  save(seen: Set<string>): void {
    for (const rel of this.entries.keys()) {
      if (!seen.has(rel)) {
        this.entries.delete(rel);
        this.dirty = true;
      }
    }
    if (this.dirty) writeCacheFile(this.file, JSON.stringify({ salt: this.salt, entries: [...this.entries] }, replacer));
  }
}

function pruneOld(dir: string, keep: string): void {
  const cutoff = Date.now() - KEEP_DAYS * 24 * 3600 * 1000;
  for (const name of readdirSync(dir)) {
    const p = path.join(dir, name);
    if (p === keep) continue;
    try {
      if (statSync(p).mtimeMs < cutoff) rmSync(p, { force: true });
    } catch {
      // gone meanwhile
    }
  }
}
