// Users' own transforms in jscodeshift format — `(file, api, options) => string` — applied to a
// TypeScript/JavaScript agent after the built-in profile, inside the same pipeline (the result
// is diffed, verified, validated and committed like any other output).
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { MigrateError } from '../core/errors.js';
import { forgetOnReset } from '../core/invocation.js';

const require = createRequire(import.meta.url);

/** The part of jscodeshift's API the engine relies on (the package ships no types). */
interface JSCodeshift {
  (source: string): unknown;
  withParser(parser: string): JSCodeshift;
}

export interface TransformFileInfo {
  path: string;
  source: string;
}

export interface TransformApi {
  jscodeshift: JSCodeshift;
  j: JSCodeshift;
  stats: (name: string, quantity?: number) => void;
  report: (message: string) => void;
}

type TransformFn = (file: TransformFileInfo, api: TransformApi, options: Record<string, unknown>) => unknown;

interface LoadedTransform {
  fn: TransformFn;
  parser?: string;
}

const cache = new Map<string, LoadedTransform>();
forgetOnReset(() => cache.clear());

function parserFor(file: string, declared?: string): string {
  if (declared) return declared;
  if (/\.(tsx|jsx)$/.test(file)) return 'tsx';
  if (/\.(ts|mts|cts)$/.test(file)) return 'ts';
  return 'babel';
}

/** Load a transform module: CommonJS `module.exports = fn` or an ESM default export. */
async function load(file: string): Promise<LoadedTransform> {
  const hit = cache.get(file);
  if (hit) return hit;
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (err) {
    // A `module.exports = ...` file inside an ESM package: evaluate it as CommonJS ourselves.
    if (!/module is not defined|exports is not defined|require is not defined/.test(String((err as Error).message))) throw err;
    const source = await readFile(file, 'utf8');
    const module = { exports: {} as unknown };
    const localRequire = createRequire(file);
    new Function('module', 'exports', 'require', '__filename', '__dirname', source)(module, module.exports, localRequire, file, path.dirname(file));
    mod = { default: module.exports };
  }
  let fn: unknown = mod.default ?? mod;
  let parser = typeof mod.parser === 'string' ? mod.parser : undefined;
  if (fn && typeof fn === 'object') {
    const inner = fn as Record<string, unknown>;
    if (typeof inner.parser === 'string') parser ??= inner.parser;
    fn = inner.default ?? inner.transform ?? fn;
  }
  if (typeof fn === 'function' && typeof (fn as unknown as { parser?: unknown }).parser === 'string') parser ??= (fn as unknown as { parser: string }).parser;
  if (typeof fn !== 'function') throw new Error('it exports no function (expected module.exports = function (file, api, options) or export default)');
  const loaded = { fn: fn as TransformFn, parser };
  cache.set(file, loaded);
  return loaded;
}

/**
 * Apply each transform in order and return the final source. A transform that returns
 * undefined, null or '' leaves the source unchanged; one that throws (or does not load) fails
 * with a one-line error naming the transform file.
 */
export async function applyUserTransforms(
  files: string[],
  input: { path: string; source: string },
  options?: Record<string, unknown>,
): Promise<string> {
  const jscodeshift = require('jscodeshift') as JSCodeshift;
  let source = input.source;
  for (const file of files) {
    const abs = path.resolve(file);
    const name = path.basename(abs);
    try {
      const t = await load(abs);
      const j = jscodeshift.withParser(parserFor(input.path, t.parser));
      const api: TransformApi = { jscodeshift: j, j, stats: () => {}, report: () => {} };
      const result = await t.fn({ path: input.path, source }, api, { ...(options ?? {}) });
      if (result === undefined || result === null || result === '') continue;
      if (typeof result !== 'string') throw new Error(`it returned ${typeof result}, not a string`);
      source = result;
    } catch (err) {
      const msg = (err instanceof Error ? err.message : String(err)).split('\n')[0];
      throw new MigrateError(`transform ${name} failed on ${input.path}: ${msg}`, abs);
    }
  }
  return source;
}
