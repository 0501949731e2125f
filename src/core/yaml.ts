// The yaml package, loaded on first use (some 230 modules, about 70 ms of CPU): most commands read
// no YAML at all once the shipped profiles come precompiled (see precompiledYaml), yet a dozen
// modules on every command's path import it. The same API, by the same names, for those modules.
import { createRequire } from 'node:module';
import type * as Yaml from 'yaml';

const require = createRequire(import.meta.url);
let lib: typeof Yaml | undefined;
const load = (): typeof Yaml => (lib ??= require('yaml') as typeof Yaml);

/** The package's default export (YAML.parse, YAML.parseDocument, ...). */
const YAML = new Proxy({} as typeof Yaml, { get: (_t, key) => (load() as unknown as Record<PropertyKey, unknown>)[key] });
export default YAML;

export const isMap = ((node: unknown) => load().isMap(node)) as typeof Yaml.isMap;
export const isScalar = ((node: unknown) => load().isScalar(node)) as typeof Yaml.isScalar;
export const isSeq = ((node: unknown) => load().isSeq(node)) as typeof Yaml.isSeq;
export const isPair = ((node: unknown) => load().isPair(node)) as typeof Yaml.isPair;
/** `new LineCounter()` makes the package's own LineCounter (the constructor returns it). */
export const LineCounter = function LineCounter() {
  return new (load().LineCounter)();
} as unknown as typeof Yaml.LineCounter;
export type LineCounter = Yaml.LineCounter;
