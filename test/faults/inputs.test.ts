// Hostile inputs (issue 11, items 6, 8, 13 and 14): a latin-1 source with a coding line,
// malformed options and a fault of the tool after files were written, symlinks leading
// out of the repository, FIFOs, symlink loops and special filesystems, and a file name
// that a shell would execute in a `sh -c` launch template.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEMO_AGENTS } from '../helpers/cli.js';
import {
  AGENT,
  AGENT_FILE,
  AGENT_V2,
  baseline,
  cleanupAll,
  commitAll,
  DEMO,
  demoRepo,
  ensureBuilt,
  expectIntact,
  git,
  listTree,
  tag,
  parseRun,
  resultOf,
  run,
  runInProcess,
  tempDir,
} from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

/** What Python itself reads from a file: decoded by its coding line (tokenize.open), as JSON. */
function pythonReads(file: string): string {
  return JSON.parse(execFileSync('python3', ['-c', 'import json,sys,tokenize; print(json.dumps(tokenize.open(sys.argv[1]).read()))', file], { encoding: 'utf8' })) as string;
}

describe('6. the output keeps its source\'s encoding', () => {
  it('a latin-1 agent with a coding line stays latin-1 (Python reads "café", not "cafÃ©"); a UTF-8 BOM stays', async () => {
    const root = await demoRepo();
    const stats = path.join(root, 'agents', 'text_stats_agent.py');
    const lines = readFileSync(stats, 'utf8').split('\n');
    lines.splice(1, 0, '# -*- coding: latin-1 -*-');
    const text = lines.join('\n').replace('logger = logging.getLogger("TextStatsAgent")', 'logger = logging.getLogger("TextStatsAgent")\nGREETING = "café crème"');
    writeFileSync(stats, Buffer.from(text, 'latin1'));
    const kv = path.join(root, AGENT_FILE);
    writeFileSync(kv, Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), readFileSync(kv)]));
    commitAll(root, 'a latin-1 agent and one with a BOM');
    expect(pythonReads(stats)).toContain('GREETING = "café crème"');
    const before = baseline(root);
    const t = tag();
    const r = await runInProcess(root, ['run', 'TextStatsAgent', AGENT, '--no-validate', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(0);
    const v2 = path.join(root, 'agents', 'text_stats_agent_v2.py');
    const bytes = readFileSync(v2);
    expect(bytes.includes(Buffer.from('café crème', 'latin1')), 'latin-1 bytes').toBe(true);
    expect(bytes.includes(Buffer.from('café', 'utf8')), 'no UTF-8 bytes under a latin-1 coding line').toBe(false);
    expect(bytes.toString('latin1').split('\n')[1]).toBe('# -*- coding: latin-1 -*-');
    expect(pythonReads(v2)).toContain('GREETING = "café crème"');
    expect(readFileSync(path.join(root, AGENT_V2)).subarray(0, 3).equals(Buffer.from([0xef, 0xbb, 0xbf])), 'the BOM stays').toBe(true);
    // The record's hash is of the bytes written and committed.
    const record = JSON.parse(readFileSync(path.join(root, 'migration-log', 'TextStatsAgent.json'), 'utf8')) as { output: { sha256: string } };
    expect(record.output.sha256).toBe(execFileSync('sha256sum', [v2], { encoding: 'utf8' }).split(' ')[0]);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent).sort()).toEqual([AGENT, 'TextStatsAgent']);
  }, 60_000);
});

describe('8. every option is checked before anything is written; a fault of the tool still puts everything back', () => {
  const bad: Array<[string, string[], RegExp]> = [
    ['a malformed --registry-url', ['--registry-url', 'http://user:pw@[bad'], /^migrate: --registry-url "http:\/\/user:\*\*\*@\[bad" is not a URL/],
    ['an unsupported --metrics-url', ['--metrics-url', 'ftp://sink'], /^migrate: --metrics-url "ftp:\/\/sink": unsupported scheme ftp:/],
  ];
  for (const [what, args, message] of bad) {
    it(`${what}: exit 2, one line, not a file written`, async () => {
      const root = await demoRepo();
      const before = baseline(root);
      const files = listTree(root);
      const t = tag();
      const r = await run(root, ['run', '--all', '--json', ...args], t);
      expect(r.exitCode).toBe(2);
      expect(r.stderr.split('\n'), r.stderr).toHaveLength(1);
      expect(r.stderr).toMatch(message);
      expect(r.stderr).not.toContain('user:pw');
      expect(listTree(root)).toEqual(files);
      await expectIntact(root, before, [t]);
    }, 60_000);
  }

  it('a broken launch template: exit 2 before anything is written', async () => {
    const root = await demoRepo();
    mkdirSync(path.join(root, '.migrate'), { recursive: true });
    writeFileSync(path.join(root, '.migrate', 'config.yaml'), 'launch:\n  python: python3 {file} --token {secret}\n');
    commitAll(root, 'a launch template with an unknown placeholder');
    const before = baseline(root);
    const t = tag();
    const r = await run(root, ['run', AGENT, '--json'], t);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/config\.yaml:2: launch\.python: unknown placeholder \{secret\}/);
    await expectIntact(root, before, [t]);
  }, 60_000);

  it('a fault of the tool after the _v2 was written (its state folder is broken): the _v2 goes, the journal too', async () => {
    const root = await demoRepo();
    const before = baseline(root);
    mkdirSync(path.join(root, '.git', 'migrate'), { recursive: true });
    writeFileSync(path.join(root, '.git', 'migrate', 'validated'), 'not a folder');
    const t = tag();
    const r = await run(root, ['run', AGENT, '--profile', 'fast', '--json'], t);
    expect(r.exitCode).toBe(1);
    expect(r.stderr.split('\n'), r.stderr).toHaveLength(1);
    expect(existsSync(path.join(root, AGENT_V2))).toBe(false);
    await expectIntact(root, before, [t]);
  }, 90_000);
});

describe('13. the scan stays inside the repository and off special filesystems', () => {
  it('symlinks to /proc/self/environ and to an agent outside the root are not agents of it; nothing leaks', async () => {
    const root = await demoRepo();
    const outside = tempDir('migrate-outside-');
    cpSync(path.join(DEMO, 'agents', 'reminder_agent.py'), path.join(outside, 'far_agent.py'));
    symlinkSync('/proc/self/environ', path.join(root, 'agents', 'environ_agent.py'));
    symlinkSync(path.join(outside, 'far_agent.py'), path.join(root, 'agents', 'far_agent.py'));
    symlinkSync('text_stats_agent.py', path.join(root, 'agents', 'inside_link.py')); // inside: still fine to read
    commitAll(root, 'symlinks');
    const t = tag();
    const scan = await run(root, ['scan', '--json'], t, { CANARY_SECRET: 'canary-7f3a' });
    expect(scan.exitCode, scan.stderr).toBe(0);
    expect(scan.stdout + scan.stderr).not.toContain('canary-7f3a');
    const out = JSON.parse(scan.stdout) as { agents: Array<{ file: string }>; skipped: Array<{ file: string }> };
    const seen = [...out.agents, ...out.skipped].map((a) => a.file);
    expect(seen).not.toContain('agents/environ_agent.py');
    expect(seen).not.toContain('agents/far_agent.py');
    expect(out.agents.map((a) => a.file)).toContain('agents/reminder_agent.py');
  }, 60_000);

  it('outside git: a FIFO, a symlink loop and a link to /proc neither hang nor escape; too deep a tree is one clear line', async () => {
    const root = tempDir('migrate-nogit-');
    cpSync(DEMO, root, { recursive: true });
    execFileSync('mkfifo', [path.join(root, 'agents', 'pipe_agent.py')]);
    symlinkSync('..', path.join(root, 'agents', 'loop'));
    symlinkSync('/proc', path.join(root, 'proc'));
    const t = tag();
    const scan = await run(root, ['scan', '--json'], t, {}, 60_000);
    expect(scan.exitCode, scan.stderr).toBe(0);
    const out = JSON.parse(scan.stdout) as { agents: Array<{ file: string }> };
    expect(out.agents.length).toBe(DEMO_AGENTS.length);
    expect(out.agents.every((a) => a.file.startsWith('agents/') && !a.file.startsWith('agents/loop/'))).toBe(true);

    const procScan = await run('/proc', ['scan', '--json'], t, {}, 60_000);
    expect(procScan.exitCode, procScan.stderr).toBe(0);
    expect((JSON.parse(procScan.stdout) as { agents: unknown[] }).agents).toEqual([]);

    const deep = tempDir('migrate-deep-');
    mkdirSync(path.join(deep, ...Array.from({ length: 45 }, (_, i) => `d${i}`)), { recursive: true });
    const deepScan = await run(deep, ['scan', '--json'], t);
    expect(deepScan.exitCode).toBe(2);
    expect(deepScan.stderr).toMatch(/^migrate: .*folders nest deeper than 40 levels .*; outside git, point --root at the repository$/);
  }, 90_000);
});

describe('14. launch placeholders are quoted for the shell', () => {
  it('a file name with spaces, quotes and $(...) in a `sh -c` template runs that file and nothing else', async () => {
    const root = await demoRepo();
    const odd = "agents/kv cache $(touch PWNED) 'q'.py";
    git(root, ['mv', AGENT_FILE, odd]);
    mkdirSync(path.join(root, '.migrate'), { recursive: true });
    writeFileSync(path.join(root, '.migrate', 'config.yaml'), 'launch:\n  python: sh -c "exec python3 {file}"\n');
    commitAll(root, 'a hostile file name and a shell launch template');
    const before = baseline(root);
    const t = tag();
    const r = await run(root, ['run', AGENT, '--profile', 'fast', '--json'], t);
    expect(r.exitCode, r.stderr).toBe(0);
    const res = resultOf(parseRun(r), AGENT);
    expect(res.output).toBe("agents/kv cache $(touch PWNED) 'q'_v2.py");
    expect(res.validation?.ok).toBe(true);
    expect(existsSync(path.join(root, 'PWNED'))).toBe(false);
    expect((await expectIntact(root, before, [t])).map((c) => c.agent)).toEqual([AGENT]);
    rmSync(path.join(root, 'PWNED'), { force: true });
  }, 90_000);
});
