#!/usr/bin/env node
// The shipped profiles (templates/profiles/*.yaml) parsed at build time (`npm run build` runs
// this after tsc), so a CLI start neither loads the yaml package nor parses them: that was about
// 0.11 s of CPU on every `migrate` command. Written to dist/src/validators/profiles.json by the
// sha256 of each file's text; src/core/precompiled.ts's precompiledYaml answers only for that
// very text (an edited profile is parsed at run time, as before), with what YAML.parse gives.
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

const top = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const dir = path.join(top, 'templates', 'profiles');
const parsed = {};
for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml')).sort()) {
  const text = readFileSync(path.join(dir, f), 'utf8');
  const data = YAML.parse(text);
  // Only what JSON carries unchanged (a file with anything else is left to the run-time parse).
  if (!plain(data)) continue;
  parsed[createHash('sha256').update(text).digest('hex')] = data;
}
/** Null, strings, booleans, finite numbers, and arrays and plain objects of them. */
function plain(v) {
  if (v === null || typeof v === 'string' || typeof v === 'boolean') return true;
  if (typeof v === 'number') return Number.isFinite(v);
  if (Array.isArray(v)) return v.every(plain);
  return typeof v === 'object' && Object.getPrototypeOf(v) === Object.prototype && Object.values(v).every(plain);
}

const out = path.join(top, 'dist', 'src', 'validators');
mkdirSync(out, { recursive: true });
writeFileSync(path.join(out, 'profiles.json'), JSON.stringify(parsed));
