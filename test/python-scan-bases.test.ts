// Scan of the multi-file fixture cases, each in its own repository: the extra files under a case's
// repo/ are classified as its case.yaml's repo_scan says. Above all, a fleet's in-house base class
// (one other scanned agents inherit from, written on abc.ABC or not) is skipped as the base class
// of those agents, naming them, never as "records only" or a helper library.
import { rmSync } from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { listCases, materialize } from './helpers/python-fixtures.js';
import { loadProfile } from '../src/profile/profile.js';
import { scanRepository } from '../src/discover/scan.js';

type RepoFileWant = { status: string; reason_contains?: string; class?: string };
const profile = loadProfile('base-agent');
const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

const withRepoScan = listCases().filter((c) => (c.spec as { repo_scan?: unknown }).repo_scan);

describe('scan of multi-file cases (repo_scan)', () => {
  it('includes a fleet-local base class on abc.ABC', () => {
    expect(withRepoScan.map((c) => c.name)).toContain('subclass-of-abc-service-base');
  });

  for (const c of withRepoScan) {
    it(c.name, async () => {
      const root = materialize(c);
      roots.push(root);
      const scan = await scanRepository(root, profile);
      for (const [file, want] of Object.entries((c.spec as { repo_scan: Record<string, RepoFileWant> }).repo_scan)) {
        const agent = scan.agents.find((a) => a.file === file);
        if (want.status === 'legacy') {
          expect({ status: agent?.status, class: agent?.class }, file).toEqual({ status: 'legacy', class: want.class });
          continue;
        }
        expect(agent, `${file} must not be an agent`).toBeUndefined();
        const s = scan.skipped.find((x) => x.file === file);
        expect(s, `${file} must be listed under skipped`).toBeDefined();
        expect(s!.reason, file).toContain(want.reason_contains ?? '');
        if (/base class/.test(want.reason_contains ?? '')) expect(s!.reason, file).not.toMatch(/records only|helper library/);
      }
    });
  }
});
