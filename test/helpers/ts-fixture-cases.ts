// The TypeScript/JavaScript fixture cases (input.* beside case.yaml), with their case.yaml parsed.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import YAML from 'yaml';

export const tsFixturesDir = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'fixtures', 'typescript');
const inputOf = (dir: string) => ['ts', 'js', 'cjs', 'mjs'].find((e) => existsSync(path.join(dir, `input.${e}`)));

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function tsFixtureCases(): Array<{ name: string; dir: string; ext: string; meta: any }> {
  return readdirSync(tsFixturesDir)
    .filter((d) => inputOf(path.join(tsFixturesDir, d)) && existsSync(path.join(tsFixturesDir, d, 'case.yaml')))
    .map((d) => ({ name: d, dir: path.join(tsFixturesDir, d), ext: inputOf(path.join(tsFixturesDir, d))!, meta: YAML.parse(readFileSync(path.join(tsFixturesDir, d, 'case.yaml'), 'utf8')) }));
}
