// Validation leaves the repository as it found it. Agents validated from the repository root
// write state there at shutdown (a Python agent's data/ state file and logs/ folder, a Node
// service's low-stock.json); before, those files stayed and the next `migrate run` refused to
// start ("untracked files ...; pass --allow-dirty"): the tool's own checks made that dirt.
// Real agents in a real git repository: the first run cleans what they wrote (and says so in its
// JSON and on stderr), a second run starts without --allow-dirty, `migrate validate` on a dirty
// tree keeps the user's own changes, and a validation killed mid-way leaves its files named by
// `migrate status` and the next run's refusal, never removed.
// Nothing the cleanup takes is lost: a file the user writes while a validation runs looks like
// the agents' and leaves the tree with theirs, into a folder under .git/migrate/ the report and
// the warning name, from where it is copied back byte for byte.
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Ajv } from 'ajv';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess, ensureBuilt } from './helpers/cli.js';

const REPO = path.resolve(import.meta.dirname, '..');
const CLI = path.join(REPO, 'bin', 'migrate.js');
let root: string;

const git = (...args: string[]) => execa('git', args, { cwd: root });
// The built CLI's main() in this process (test/helpers/cli.ts), as `migrate ... --root <root>`: a
// spawned CLI per command paid a Node start and, the repository holding a TypeScript service, the
// TypeScript compiler's load each time (most of the 'killed mid-way' test's CPU: two status and two
// run commands). The validation that is killed, and the one a file is written beside, stay spawned.
const migrate = (...args: string[]) => cliInProcess(root, args, { env: { MIGRATE_SURVIVAL_WINDOW_S: '2' } });
const status = async () => (await git('status', '--porcelain', '--untracked-files=all')).stdout;

/** The --json outputs match the schemas the README points users to (tree_cleanup.saved_in included). */
const ajv = new Ajv({ allErrors: true });
for (const f of ['validation', 'run', 'validate']) ajv.addSchema(JSON.parse(readFileSync(path.join(REPO, 'schemas', `${f}.schema.json`), 'utf8')));
function expectSchema(name: string, stdout: string): void {
  const validate = ajv.getSchema(`${name}.schema.json`)!;
  expect(validate(JSON.parse(stdout)), `${name}: ${ajv.errorsText(validate.errors)}`).toBe(true);
}

function put(rel: string, text: string): void {
  mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
  writeFileSync(path.join(root, rel), text);
}

beforeAll(async () => {
  ensureBuilt();
  root = mkdtempSync(path.join(os.tmpdir(), 'migrate-leftovers-'));
  put('agents/ledger_reconciler_agent.py', readFileSync(path.join(REPO, 'fixtures', 'python', 'agent-name-literal', 'input.py'), 'utf8'));
  put('services/stock-level-sync.ts', readFileSync(path.join(REPO, 'test', 'data', 'validate-leftovers', 'stock-level-sync.ts'), 'utf8'));
  // Tracked: the buyers' report as of the last release; the service overwrites it at shutdown.
  put('low-stock.json', '["SKU-1001"]\n');
  put('README.md', '# shop agents\n');
  put('.gitignore', 'node_modules/\n*.pid\n');
  await git('init', '-q', '-b', 'main');
  await git('config', 'user.name', 'Test');
  await git('config', 'user.email', 'test@example.invalid');
  expect((await migrate('init', '--lang', 'python')).exitCode).toBe(0);
  expect((await migrate('init', '--lang', 'typescript')).exitCode).toBe(0);
  await git('add', '-A');
  await git('commit', '-q', '-m', 'shop agents');
}, 180_000);

afterAll(() => rmSync(root, { recursive: true, force: true }));

interface Result {
  agent: string;
  status: string;
  commit: string | null;
  error: string | null;
  validation: { ok: boolean; tree_cleanup?: { removed: string[]; restored: string[]; saved_in?: string; kept?: string[] }; checks: Array<{ name: string; ok: boolean; detail: string }> } | null;
}

describe('validation leaves the repository as it found it', () => {
  it('removes what the agents wrote, restores what they overwrote, and a second run starts clean', async () => {
    const run = await migrate('run', '--all', '--json', '--concurrency', '2');
    const out = JSON.parse(run.stdout) as { results: Result[] };
    expectSchema('run', run.stdout);
    for (const r of out.results) {
      expect(r.error, `${r.agent}: ${r.error}; ${run.stderr}`).toBeNull();
      expect(r.validation?.ok, `${r.agent}: ${JSON.stringify(r.validation?.checks.filter((c) => !c.ok))}`).toBe(true);
      expect(r.commit).toMatch(/^[0-9a-f]{40}$/);
    }
    const removed = out.results.flatMap((r) => r.validation?.tree_cleanup?.removed ?? []).sort();
    const restored = out.results.flatMap((r) => r.validation?.tree_cleanup?.restored ?? []);
    expect(removed).toEqual(['data/ledger_reconciler_state.json', 'logs/ledger_reconciler.log']);
    expect(restored).toEqual(['low-stock.json']);
    expect(run.stderr).toMatch(/warning: validating \w+ .*left files in the repository, put back: removed .*data\/ledger_reconciler_state\.json/);
    // Moved, not deleted: the state file and the report the service overwrote are in the run's folder under .git/migrate/.
    const saved = out.results.map((r) => r.validation?.tree_cleanup?.saved_in).filter((d): d is string => !!d);
    expect(saved.length).toBeGreaterThan(0);
    for (const d of saved) {
      expect(d.startsWith(path.join(root, '.git', 'migrate', 'validation-leftovers') + path.sep)).toBe(true);
      expect(run.stderr).toContain(`kept in ${d}`);
    }
    const savedAs = (rel: string) => saved.map((d) => path.join(d, rel)).find((f) => existsSync(f));
    expect(JSON.parse(readFileSync(savedAs('data/ledger_reconciler_state.json')!, 'utf8'))).toBeTruthy();
    expect(readFileSync(savedAs('low-stock.json')!, 'utf8')).not.toBe('["SKU-1001"]\n');
    expect(savedAs('logs/ledger_reconciler.log')).toBeDefined();
    // The folders the agent made go with the files; the tracked report is the committed one again.
    expect(existsSync(path.join(root, 'data'))).toBe(false);
    expect(existsSync(path.join(root, 'logs'))).toBe(false);
    expect(readFileSync(path.join(root, 'low-stock.json'), 'utf8')).toBe('["SKU-1001"]\n');
    expect(await status()).toBe('');

    const again = await migrate('run', '--all', '--json');
    expect(again.stderr).not.toContain('refusing to start');
    expect(again.exitCode, again.stderr).toBe(0);
  }, 400_000);

  it('migrate validate on a dirty tree keeps what was there or dirty before, and ignored files', async () => {
    put('notes.txt', 'my notes\n');
    put('README.md', '# shop agents\n\nwork in progress\n');
    // Files git ignores are the agent's business: not touched.
    put('ledger.pid', '123\n');
    const before = await status();
    const v = await migrate('validate', 'LedgerReconcilerAgent', 'StockLevelSync', '--json');
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    expect(await status()).toBe(before);
    expect(readFileSync(path.join(root, 'notes.txt'), 'utf8')).toBe('my notes\n');
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toContain('work in progress');
    expect(existsSync(path.join(root, 'ledger.pid'))).toBe(true);
    expect(v.stderr).toContain('put back: removed');
    const reports = (JSON.parse(v.stdout) as { results: Result[] }).results;
    const cleaned = reports.flatMap((r) => [...(r.validation?.tree_cleanup?.removed ?? []), ...(r.validation?.tree_cleanup?.restored ?? [])]).sort();
    expect(cleaned).toEqual(['data/ledger_reconciler_state.json', 'logs/ledger_reconciler.log', 'low-stock.json']);
    rmSync(path.join(root, 'notes.txt'));
    rmSync(path.join(root, 'ledger.pid'));
    await git('checkout', '--', 'README.md');
  }, 300_000);

  it('a file the user writes while a validation runs is moved out with the agents\' files, not lost', async () => {
    const child = execa(process.execPath, [CLI, 'validate', 'LedgerReconcilerAgent', '--json', '--root', root], {
      cwd: root,
      reject: false,
      env: { MIGRATE_SURVIVAL_WINDOW_S: '5' },
    });
    const log = path.join(root, 'logs', 'ledger_reconciler.log');
    for (let i = 0; i < 300 && !existsSync(log); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(log)).toBe(true);
    // The agent runs: the user drafts a new note and edits the tracked README meanwhile.
    const note = 'Q3 reconciliation: check the EUR ledger by hand\n';
    const readme = '# shop agents\n\nrelease notes draft\n';
    put('drafts/q3-reconciliation.md', note);
    put('README.md', readme);
    const v = await child;
    expect(v.exitCode, v.stdout + v.stderr).toBe(0);
    expectSchema('validate', v.stdout);
    const cleanup = (JSON.parse(v.stdout) as { results: Result[] }).results[0]!.validation!.tree_cleanup!;
    // Indistinguishable from the agent's files, so taken from the tree with them...
    expect(cleanup.removed).toContain('drafts/q3-reconciliation.md');
    expect(cleanup.restored).toContain('README.md');
    expect(existsSync(path.join(root, 'drafts'))).toBe(false);
    expect(readFileSync(path.join(root, 'README.md'), 'utf8')).toBe('# shop agents\n');
    expect(await status()).toBe('');
    // ...but kept, at the same relative paths, in the folder the report and the warning name.
    expect(v.stderr).toContain(`kept in ${cleanup.saved_in}`);
    expect(readFileSync(path.join(cleanup.saved_in!, 'drafts', 'q3-reconciliation.md'), 'utf8')).toBe(note);
    expect(readFileSync(path.join(cleanup.saved_in!, 'README.md'), 'utf8')).toBe(readme);
    expect(existsSync(path.join(cleanup.saved_in!, 'logs', 'ledger_reconciler.log'))).toBe(true);
  }, 300_000);

  it('a validation killed mid-way leaves its files named by status and the next run, not removed', async () => {
    const child = execa(process.execPath, [CLI, 'validate', 'LedgerReconcilerAgent', '--root', root], { cwd: root, reject: false, env: { MIGRATE_SURVIVAL_WINDOW_S: '30' } });
    const log = path.join(root, 'logs', 'ledger_reconciler.log');
    for (let i = 0; i < 300 && !existsSync(log); i++) await new Promise((r) => setTimeout(r, 100));
    expect(existsSync(log)).toBe(true);
    child.kill('SIGKILL');
    await child;
    await new Promise((r) => setTimeout(r, 500));
    const st = await migrate('status');
    expect(st.stderr).toMatch(/interrupted .*logs\/ledger_reconciler\.log/);
    const run = await migrate('run', '--all');
    expect(run.exitCode).not.toBe(0);
    expect(run.stderr).toMatch(/untracked files .*interrupted .*logs\/ledger_reconciler\.log/);
    // Named, never removed, by either command.
    expect(existsSync(log)).toBe(true);
    rmSync(path.join(root, 'logs'), { recursive: true, force: true });
    rmSync(path.join(root, 'data'), { recursive: true, force: true });
    expect((await migrate('status')).stderr).not.toContain('interrupted');
    const clean = await migrate('run', '--all');
    expect(clean.exitCode, clean.stderr).toBe(0);
  }, 300_000);
});
