// The README's examples are real: its two first commands stay as they are, the worked
// profile passes the profile schema, the config snippets parse, and every schema it links exists.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadProfile } from '../src/profile/profile.js';
import { readLaunchTemplate } from '../src/validate/launch.js';
import { configIgnorePatterns } from '../src/discover/ignore.js';
import { chooseProfile } from '../src/profile/choose.js';

const REPO = path.resolve(import.meta.dirname, '..');
const README = readFileSync(path.join(REPO, 'README.md'), 'utf8');
const yamlBlocks = [...README.matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

function repoWithConfig(file: string, text: string): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-readme-'));
  temps.push(root);
  mkdirSync(path.dirname(path.join(root, file)), { recursive: true });
  writeFileSync(path.join(root, file), text);
  return root;
}

describe('README', () => {
  it('starts with the demo and the test command, exactly', () => {
    const first = /```sh\n([^\n]*)\n([^\n]*)\n```/.exec(README)!;
    expect(first[1]).toMatch(/^npm install && npm run demo {3}# /);
    expect(first[2]).toMatch(/^npm install && npm test {7}# /);
  });

  it('its worked profile passes the profile schema and loads', () => {
    const block = yamlBlocks.find((b) => b.includes('name: service-agent'))!;
    const root = repoWithConfig('.migrate/profiles/service-agent.yaml', block);
    const profile = loadProfile('service-agent', root);
    expect(profile.base_class).toBe('ServiceAgent');
    expect(profile.python?.super_call.name_keyword).toBe('service_name');
  });

  it('its config snippets parse: launch template and ignore patterns', () => {
    const launch = yamlBlocks.find((b) => b.startsWith('launch:'))!;
    expect(readLaunchTemplate(repoWithConfig('.migrate/config.yaml', launch), 'python')?.template).toContain('{health_port}');
    const ignore = yamlBlocks.find((b) => b.startsWith('ignore:'))!;
    expect(configIgnorePatterns(repoWithConfig('.migrate/config.yaml', ignore))).toEqual(['vendor/', '**/*_test.py']);
  });

  it('its profile pin chooses that profile for a command without --profile', () => {
    const block = yamlBlocks.find((b) => b.startsWith('# .migrate/config.yaml\nprofile:'))!;
    const choice = chooseProfile(repoWithConfig('.migrate/config.yaml', block), undefined);
    expect([choice.profile.name, choice.chosen_by]).toEqual(['hardened-agent-base', 'config']);
  });

  it('every file it links exists', () => {
    const links = [...README.matchAll(/\]\(([^)#]+)\)/g)].map((m) => m[1]!).filter((l) => !/^https?:/.test(l));
    expect(links.length).toBeGreaterThan(5);
    for (const l of links) expect(existsSync(path.join(REPO, l)), l).toBe(true);
  });
});
