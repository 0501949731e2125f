// The TypeScript scan lets each file go once classified (its memory is flat in the fleet's
// size), which is only sound while verdicts come from a file's own syntax: a verdict that asks
// the type checker depends on the other files of the program. Scripts (no import or export)
// share one global scope, so a class of one script file extends a class another declares; with
// only its own file in the program the agent below would read as legacy (its parent unresolved,
// not the base by name), with every file as migrated through its parent. The scan must give
// the second, and still classify the files around it (more than one project's worth, before and
// after it) as it did.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ScanResult } from '../src/core/types.js';
import { typescriptAdapter } from '../src/lang/typescript/adapter.js';
import { loadProfile } from '../src/profile/profile.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const fx = (name: string, file: string) => readFileSync(path.join(here, '..', 'fixtures', 'typescript', name, file), 'utf8');
const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-ts-scan-files-'));
const files: string[] = [];

function put(rel: string, text: string): void {
  const abs = path.join(root, rel);
  mkdirSync(path.dirname(abs), { recursive: true });
  writeFileSync(abs, text);
  files.push(abs);
}

// A fleet's shared parent written as a script (global declarations, as an outFile build has them).
const PARENT = `// Global classes of the fleet's script build: every agent script sees them.
class BaseAgent {
  protected running = false;
  constructor(readonly name: string) {}
  async run(): Promise<void> {
    this.running = true;
  }
  async stop(): Promise<void> {
    this.running = false;
  }
}

class FleetPoller extends BaseAgent {
  protected intervalMs = 5000;
  protected describe(): string {
    return \`\${this.name} every \${this.intervalMs} ms\`;
  }
}
`;

const AGENT = `// Polls the ledger for stale holds (script build: no imports, globals from fleet.ts).
class LedgerHoldSweeper extends FleetPoller {
  private swept = 0;

  constructor() {
    super('ledger-hold-sweeper');
  }

  async sweepOnce(): Promise<number> {
    const stale = Math.floor(Math.random() * 3);
    this.swept += stale;
    return stale;
  }

  async run(): Promise<void> {
    await super.run();
    setInterval(() => void this.sweepOnce(), this.intervalMs);
  }
}

new LedgerHoldSweeper().run();
`;

let scan: ScanResult;
// Legacy agents before and after the script family, more than one project's worth each (16 files).
const BEFORE = 18;
const AFTER = 18;

beforeAll(async () => {
  for (let i = 0; i < BEFORE; i++) put(`agents/a${String(i).padStart(2, '0')}/order-router.ts`, fx('http-health-interval', 'input.ts').replaceAll('OrderRouter', `OrderRouter${i}`));
  put('agents/m-ledger-hold-sweeper.ts', AGENT);
  for (let i = 0; i < AFTER; i++) put(`agents/z${String(i).padStart(2, '0')}/feed-relay.ts`, fx('reconnect-while-loop', 'input.ts'));
  put('fleet/fleet.ts', PARENT);
  scan = await typescriptAdapter.scan(root, files, loadProfile('base-agent'));
}, 120_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('TypeScript scan, file by file', () => {
  it('resolves a script class through a parent another script file declares (the type checker sees every file)', () => {
    const a = scan.agents.find((x) => x.file === 'agents/m-ledger-hold-sweeper.ts');
    expect(a?.status).toBe('migrated');
    expect(a?.evidence).toContain('extends BaseAgent through a parent class');
  });

  it('classifies every file around it, before and after, as legacy agents', () => {
    const legacy = scan.agents.filter((a) => a.status === 'legacy').map((a) => a.file);
    expect(legacy.filter((f) => f.includes('/a'))).toHaveLength(BEFORE);
    expect(legacy.filter((f) => f.includes('/z'))).toHaveLength(AFTER);
    expect(scan.skipped.map((s) => `${s.file}: ${s.reason}`)).toEqual(['fleet/fleet.ts: defines BaseAgent itself']);
  });
});
