// The TypeScript scan's result, kept between scans as the Python scan's facts are (see
// src/discover/scan-cache.ts): an engineer scans the same fleet dozens of times a day. A
// TypeScript file's verdict is not its own, though: a class reaches the base through parents
// the type checker resolves in other files and packages, tsconfig.json says what is source, and
// a compiled or _v2 sibling changes a file's verdict. So one entry answers the whole scan, and
// only when every input is the same: the bytes of every file handed to the scan (by path),
// tsconfig.json and package.json, which siblings exist, the installed packages (npm's
// node_modules/.package-lock.json), and every other file the type checker read (lib, @types,
// packages) at the same size and modification time. Anything else is a miss and the scan runs.
//
// Kept apart from ts-morph: a hit answers without loading the compiler at all.
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import type { ScanResult } from '../../core/types.js';
import type { Profile } from '../../profile/profile.js';
import { cacheFileFor, cacheOff, engineFingerprint, writeCacheFile } from '../../discover/scan-cache.js';
import { nestedTsconfig, v2Path } from './paths.js';

/** A file the scan did not hand in but the type checker read: its path, size and modification time. */
type Dependency = [file: string, size: number, mtimeMs: number];

interface Saved {
  salt: string;
  key: string;
  deps: Dependency[];
  result: ScanResult;
}

const COMPILED_SIBLINGS = ['.ts', '.tsx', '.mts', '.cts'];

export class TypeScriptScanCache {
  private readonly file: string;
  private readonly salt: string;
  private key: string | null = null;

  private constructor(root: string, salt: string) {
    this.file = cacheFileFor('typescript-scan', root);
    this.salt = salt;
  }

  /** The cache for this root and profile, or null when turned off (MIGRATE_CACHE=0). */
  static open(root: string, profile: Profile): TypeScriptScanCache | null {
    if (cacheOff()) return null;
    return new TypeScriptScanCache(root, createHash('sha256').update(engineFingerprint()).update(JSON.stringify(profile)).digest('hex'));
  }

  /**
   * The saved scan of exactly these inputs, or null. Remembers the inputs' key for store();
   * inputs that cannot be keyed (an unreadable file, a tsconfig that extends another) make
   * both a no-op.
   */
  lookup(root: string, files: string[]): ScanResult | null {
    this.key = inputsKey(root, files);
    if (!this.key) return null;
    let saved: Saved;
    try {
      saved = JSON.parse(readFileSync(this.file, 'utf8')) as Saved;
    } catch {
      return null;
    }
    if (saved.salt !== this.salt || saved.key !== this.key) return null;
    for (const [file, size, mtimeMs] of saved.deps) {
      try {
        const st = statSync(file);
        if (st.size !== size || st.mtimeMs !== mtimeMs) return null;
      } catch {
        return null;
      }
    }
    return saved.result;
  }

  /** Keep this scan's result for the inputs lookup() keyed, with the other files the checker read. */
  store(result: ScanResult, dependencies: string[]): void {
    if (!this.key) return;
    const deps: Dependency[] = [];
    for (const file of dependencies) {
      try {
        const st = statSync(file);
        deps.push([file, st.size, st.mtimeMs]);
      } catch {
        // read by the checker and gone since: the next scan cannot be answered from this one
        return;
      }
    }
    const saved: Saved = { salt: this.salt, key: this.key, deps, result };
    writeCacheFile(this.file, JSON.stringify(saved));
  }
}

/** A hash of everything the scan reads besides the checker's other files, or null when that cannot be said. */
function inputsKey(root: string, files: string[]): string | null {
  const h = createHash('sha256');
  const config = readOrNull(path.join(root, 'tsconfig.json'));
  // An `extends` chain reads files we would have to follow: such a root is scanned every time.
  if (config && /"extends"\s*:/.test(config.toString('utf8'))) return null;
  h.update('tsconfig\0').update(config ?? '-').update('\0package\0').update(readOrNull(path.join(root, 'package.json')) ?? '-');
  const installed = statOrNull(path.join(root, 'node_modules', '.package-lock.json'));
  h.update(`\0installed\0${installed ? `${installed.size}:${installed.mtimeMs}` : '-'}\0`);
  // A sub-project's own tsconfig.json says whether the root's exclude speaks for its files (scan.ts): read
  // there only when the root has a tsconfig.json.
  const nested = new Set<string>();
  const dirs = new Map<string, string | null>();
  if (config) for (const f of files) {
    const c = nestedTsconfig(root, f, dirs);
    if (c) nested.add(c);
  }
  for (const c of [...nested].sort()) {
    const text = readOrNull(c);
    if (text && /"extends"\s*:/.test(text.toString('utf8'))) return null;
    h.update(`nested\0${path.relative(root, c)}\0`).update(text ?? '-');
  }
  for (const f of [...files].sort()) {
    let bytes: Buffer;
    try {
      bytes = readFileSync(f);
    } catch {
      return null;
    }
    h.update(path.relative(root, f)).update('\0').update(createHash('sha256').update(bytes).digest());
    // Siblings the scan asks about: a compiled JavaScript file's TypeScript source, the _v2 output.
    const stem = f.replace(/\.(js|cjs|mjs)$/, '');
    const siblings = stem === f ? [v2Path(f)] : [...COMPILED_SIBLINGS.map((e) => stem + e), v2Path(f)];
    h.update(siblings.map((s) => (existsSync(s) ? '1' : '0')).join(''));
  }
  return h.digest('hex');
}

function readOrNull(file: string): Buffer | null {
  try {
    return readFileSync(file);
  } catch {
    return null;
  }
}

function statOrNull(file: string): { size: number; mtimeMs: number } | null {
  try {
    return statSync(file);
  } catch {
    return null;
  }
}
