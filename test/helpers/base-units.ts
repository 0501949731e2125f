// Base migration units on real git repositories, shared by test/base-units.test.ts (home-made bases
// of seed 000's shape, base-agent profile) and test/base-units-seed001.test.ts (seed 001's family
// helpers, hardened-agent-base profile): two files so that the suite's forks run them side by side
// (one file, its unit runs one after another, was the suite's longest at 227 s of a CI run).
import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import Ajv from 'ajv';
import { afterAll, expect } from 'vitest';
import { gitRepo, REPO } from './cli.js';
import { listCases, materialize } from './python-fixtures.js';
import { cases as hardenedCases, materialize as materializeHardened } from './python-hardened.js';
import type { BaseUnit } from '../../src/core/types.js';

const ajv = new Ajv({ allErrors: true });
for (const f of ['validation', 'scan', 'run', 'status', 'validate', 'promote']) ajv.addSchema(JSON.parse(readFileSync(path.join(REPO, 'schemas', `${f}.schema.json`), 'utf8')));
/** A command's --json output, checked against its schema. */
export function parsed(name: string, stdout: string): { units?: BaseUnit[]; skipped?: Array<{ file: string; reason: string; unit?: string }>; results?: unknown[] } {
  const data = JSON.parse(stdout);
  const validate = ajv.getSchema(`${name}.schema.json`)!;
  expect(validate(data), `${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
  return data;
}

/** Temporary folders of the test file (push them): removed after the file. */
export const roots: string[] = [];
afterAll(() => {
  for (const r of roots) rmSync(r, { recursive: true, force: true });
});

/** A case's fleet (its repo/ and input) as a committed git repository. */
export function fleet(name: string): string {
  const c = listCases().find((x) => x.name === name)!;
  const staged = materialize(c);
  roots.push(staged);
  const root = gitRepo(staged, 'migrate-unit-');
  roots.push(root);
  return root;
}

/**
 * The environment of the seed-001 runs that validate a unit's agents.
 * - SOURCE_PUBLISH_RETRIES=1: the family helper's publish tries SOURCE_PUBLISH_RETRIES times
 *   (default 3), sleeping 1, 2, 4 s, and the base's publisher tries it 3 times more: with the bus
 *   down, a queue formed only ~23 s after, in each of the 5 validations (~19 s of wall each). One
 *   try still fails, sleeps and hands the telemetry to the base, which queues it: the eventbus
 *   check sees the same up / queued / drained phases.
 * - MIGRATE_LEGACY_WINDOW_S=0.5: the legacy run (the log check's baseline) watched 0.5 s instead
 *   of 2 s, as the Phase 5 parts do (test/helpers/python-hardened.ts): a _v2 error line the legacy
 *   agent had not logged yet sends it to run again, longer; this profile has no ports check, the
 *   one check that reads the legacy run at its window's end.
 */
export const SEED001_VALIDATION = { env: { SOURCE_PUBLISH_RETRIES: '1', MIGRATE_LEGACY_WINDOW_S: '0.5' } };

/** A seed-001 case's fleet (its repo/, input and the reference HardenedAgentBase) as a committed git repository. */
export function hardenedFleet(name: string): string {
  const staged = materializeHardened(hardenedCases.find((x) => x.name === name)!);
  roots.push(staged);
  const root = gitRepo(staged, 'migrate-unit-');
  roots.push(root);
  return root;
}
