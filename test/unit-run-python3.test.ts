// The unit check's python3 (verifyUnit, migrate run of a base migration unit) is started as every other
// python3 of the tool is: the interpreter a first `python3` reported (src/lang/python/python3.ts), not the
// version manager's shim again (pyenv's bash script, 0.2-0.5 s of CPU per start). A shim on PATH that counts
// its starts proves which one ran.
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { verifyUnit } from '../src/pipeline/unit-run.js';
import { learnPython3 } from '../src/lang/python/python3.js';
import { resetProcessState } from '../src/core/invocation.js';
import type { BaseUnit } from '../src/core/types.js';

const real = execFileSync('python3', ['-c', 'import sys; print(sys.executable)'], { encoding: 'utf8' }).trim();
const temps: string[] = [];
const savedPath = process.env.PATH;
afterAll(() => {
  process.env.PATH = savedPath;
  resetProcessState();
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

describe('verifyUnit starts the learnt python3', () => {
  it('checks a unit without starting the python3 shim once the interpreter is known', () => {
    resetProcessState();
    const shims = mkdtempSync(path.join(os.tmpdir(), 'migrate-unit-shim-'));
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-unit-root-'));
    temps.push(shims, root);
    const calls = path.join(shims, 'calls');
    writeFileSync(path.join(shims, 'python3'), `#!/bin/sh\necho start >> '${calls}'\nexec '${real}' "$@"\n`);
    chmodSync(path.join(shims, 'python3'), 0o755);
    process.env.PATH = `${shims}:${savedPath}`;
    // What the first python3 of this process (the scan's compile session) reported.
    learnPython3(real);
    mkdirSync(path.join(root, 'agents'), { recursive: true });
    const base = 'class ServiceBase:\n    def run(self):\n        pass\n';
    const agent = 'from agents.service_base import ServiceBase\n\n\nclass Poller(ServiceBase):\n    pass\n';
    writeFileSync(path.join(root, 'agents', 'service_base.py'), base);
    writeFileSync(path.join(root, 'agents', 'poller.py'), agent);
    const unit: BaseUnit = {
      name: 'ServiceBase', language: 'python', status: 'ready', blockers: [], reason: '',
      base: { class: 'ServiceBase', file: 'agents/service_base.py', line: 1, holds: [] },
      members: [{ class: 'Poller', file: 'agents/poller.py', line: 4 }],
    };
    const files = [
      { rel: 'agents/service_base_v2.py', legacy: 'agents/service_base.py', text: base },
      { rel: 'agents/poller_v2.py', legacy: 'agents/poller.py', text: agent.replace('agents.service_base ', 'agents.service_base_v2 ') },
    ];
    expect(verifyUnit(root, unit, files)).toBeNull();
    expect(existsSync(calls) ? readFileSync(calls, 'utf8') : '', 'the shim was started').toBe('');
  });
});
