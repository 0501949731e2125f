// An independent audit of the Python `_v2` files (scripts/check-dangling.py, ast + symtable):
// the engine only parses what it writes, so a name, a `self.<attr>`, a thread target or a
// method a removal left without its definition, an import the rewrite added for nothing, or a
// kept method whose every caller went, would only show at run time. Each corpus's outputs
// must carry none of them (whatever the legacy file already got wrong is not counted).
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { execa } from 'execa';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import YAML from 'yaml';
import { FIXTURES, listCases, materialize, REFERENCE_BASE } from './helpers/python-fixtures.js';
import { cliInProcess, ensureBuilt, gitRepo, git, REPO } from './helpers/cli.js';

const CHECKER = path.join(REPO, 'scripts', 'check-dangling.py');
const HARDENED = path.join(REPO, 'fixtures', 'python-hardened');
const temps: string[] = [];
afterAll(() => {
  for (const d of temps) rmSync(d, { recursive: true, force: true });
});

interface Finding { category: string; file: string; line: number; symbol: string; detail: string }
/** `acknowledged`: what the engine reported about the agent (kept_for_review symbols, warnings). */
interface Case { legacy: string; v2: string; roots: string[]; acknowledged?: string[] }

// About 15 s of CPU for the two corpora and the demo fleet; the time limits leave room for a loaded machine.
async function check(cases: Case[]): Promise<Finding[]> {
  const r = await execa('python3', [CHECKER, '-'], { input: JSON.stringify({ cases }), maxBuffer: 1 << 26 });
  return (JSON.parse(String(r.stdout)) as { findings: Finding[] }).findings;
}

const v2Of = (rel: string) => rel.replace(/\.py$/, '_v2.py');
const show = (fs: Finding[]) => fs.map((f) => `${f.category} ${path.basename(f.file)}:${f.line} ${f.symbol}: ${f.detail}`);

/**
 * A line that is one complete element of a literal display and nothing else: string, number
 * literals, brackets balanced on the line, ending with a comma (`'word': ("N", "AY1"),`). It
 * binds and reads no name, so the checker has nothing to find in it.
 */
const LITERAL_ELEMENT = /^\s*(?:'[^'\\\n]*'|"[^"\\\n]*"|-?\d[\d.eE+-]*|[\s:,()[\]])+,\s*$/;
function balanced(line: string): boolean {
  const inner = line.replace(/'[^'\\\n]*'|"[^"\\\n]*"/g, '');
  let depth = 0;
  for (const ch of inner) {
    depth += '([{'.includes(ch) ? 1 : ')]}'.includes(ch) ? -1 : 0;
    if (depth < 0) return false;
  }
  return depth === 0 && /'|"|\d/.test(line);
}
/** Elements kept of a long run. */
const RUN_KEPT = 20;
/**
 * The legacy file and its `_v2` with each long run (over 1,000 lines) of literal-only elements
 * both share verbatim cut to its first RUN_KEPT lines, in both: the 2 MB fixture's 30,000-entry
 * table is data the checker reads nothing in (about 7 CPU-s of ast and symtable over two copies),
 * while every other line, the table's statement and the code around it, stays as written.
 * python-fixtures.test.ts owns the fixture's size (the rewrite of 2 MB, the table kept byte for byte).
 */
function withoutLongLiteralRuns(legacy: string, v2: string): [string, string] {
  const lines = legacy.split('\n');
  let a = legacy;
  let b = v2;
  for (let i = 0; i < lines.length; ) {
    let j = i;
    while (j < lines.length && LITERAL_ELEMENT.test(lines[j]!) && balanced(lines[j]!)) j++;
    if (j - i > 1000) {
      const run = `${lines.slice(i, j).join('\n')}\n`;
      const kept = `${lines.slice(i, i + RUN_KEPT).join('\n')}\n`;
      if (a.split(run).length === 2 && b.split(run).length === 2) {
        a = a.replace(run, () => kept);
        b = b.replace(run, () => kept);
      }
    }
    i = Math.max(j, i + 1);
  }
  return [a, b];
}

/** Each case's repository (base, extra files, input) with its expected output written as the `_v2` beside the input. */
function corpusCases(dir: string, place: (name: string, spec: { path?: string; base?: string; expect?: { kept_for_review?: string[]; warnings_contain?: string[] } }, root: string) => string): Case[] {
  const cases: Case[] = [];
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    if (!d.isDirectory() || d.name.startsWith('_')) continue;
    const caseDir = path.join(dir, d.name);
    if (!existsSync(path.join(caseDir, 'expected.py')) || !existsSync(path.join(caseDir, 'input.py'))) continue;
    const spec = existsSync(path.join(caseDir, 'case.yaml')) ? YAML.parse(readFileSync(path.join(caseDir, 'case.yaml'), 'utf8')) ?? {} : {};
    const root = mkdtempSync(path.join(os.tmpdir(), `migrate-dangling-${d.name}-`));
    temps.push(root);
    const rel = place(d.name, spec, root);
    const v2 = path.join(root, v2Of(rel));
    writeFileSync(v2, readFileSync(path.join(caseDir, 'expected.py')));
    // Only a file with such a run is rewritten (the others keep their bytes: latin-1, CRLF, BOM).
    const [legacyText, v2Text] = [readFileSync(path.join(root, rel), 'latin1'), readFileSync(v2, 'latin1')];
    const [shortLegacy, shortV2] = withoutLongLiteralRuns(legacyText, v2Text);
    if (shortLegacy !== legacyText) {
      writeFileSync(path.join(root, rel), shortLegacy, 'latin1');
      writeFileSync(v2, shortV2, 'latin1');
    }
    const acknowledged = [...(spec.expect?.kept_for_review ?? []), ...(spec.expect?.warnings_contain ?? [])];
    cases.push({ legacy: path.join(root, rel), v2, roots: [root], acknowledged });
  }
  return cases;
}

describe('no dangling reference, no orphaned behaviour in the Python outputs (scripts/check-dangling.py)', () => {
  it('the checker sees what a removal leaves dangling (a method gone but still called, a thread target gone, an import gone, an import added for nothing)', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-dangling-self-'));
    temps.push(root);
    cpSync(path.join(REFERENCE_BASE, 'common'), path.join(root, 'common'), { recursive: true });
    mkdirSync(path.join(root, 'agents'));
    const legacy = [
      'import json', 'import threading', 'import time', '', '',
      'class PollAgent:', '    def __init__(self):', '        self.seen = 0', '',
      '    def _drain(self):', '        self.seen += 1', '',
      '    def _loop(self):', '        while True:', '            self._drain()', '            time.sleep(1)', '',
      '    def report(self):', '        return json.dumps({"seen": self.seen})', '',
      '    def run(self):', '        threading.Thread(target=self._loop, daemon=True).start()', '',
      '', 'if __name__ == "__main__":', '    agent = PollAgent()', '    agent.run()', '    agent.report()', '',
    ].join('\n');
    const broken = legacy
      .replace('import json\n', 'import os\n')
      .replace('class PollAgent:', 'from common.core.base_agent import BaseAgent\n\n\nclass PollAgent(BaseAgent):')
      .replace('    def _drain(self):\n        self.seen += 1\n\n', '')
      .replace('    def _loop(self):\n        while True:\n            self._drain()\n            time.sleep(1)\n\n', '    def _loop2(self):\n        self._drain()\n\n')
      .replace('    def report(self):', '    def report_now(self):');
    writeFileSync(path.join(root, 'agents', 'poll_agent.py'), legacy);
    writeFileSync(path.join(root, 'agents', 'poll_agent_v2.py'), broken);
    writeFileSync(path.join(root, 'agents', 'poll_client.py'), 'from agents.poll_agent import PollAgent\n\nPollAgent().report()\n');
    const found = show(await check([{ legacy: path.join(root, 'agents', 'poll_agent.py'), v2: path.join(root, 'agents', 'poll_agent_v2.py'), roots: [root] }]));
    expect(found.some((f) => f.startsWith('undefined-name') && f.includes(' json:'))).toBe(true);
    expect(found.some((f) => f.startsWith('unused-import') && f.includes(' os:'))).toBe(true);
    expect(found.some((f) => f.startsWith('self-attr') && f.includes('PollAgent._drain'))).toBe(true);
    expect(found.some((f) => f.startsWith('thread-target') && f.includes('PollAgent._loop:'))).toBe(true);
    expect(found.some((f) => f.startsWith('removed-referenced') && f.includes('poll_agent_v2.py') && f.includes('PollAgent.report'))).toBe(true);
    expect(found.some((f) => f.startsWith('removed-referenced') && f.includes('poll_client.py') && f.includes('PollAgent.report'))).toBe(true);
  }, 60_000);

  it("an in-file parent's read of what the base sets is not dangling while only the agent (on the base) is its self", async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-dangling-mixin-'));
    temps.push(root);
    cpSync(path.join(REFERENCE_BASE, 'common'), path.join(root, 'common'), { recursive: true });
    mkdirSync(path.join(root, 'agents'));
    const legacy = [
      'import time', '', '',
      'class Poller:', '    def __init__(self):', '        self.start_time = time.time()', '',
      '    def uptime(self):', '        return time.time() - self.start_time', '', '',
      'class WatchAgent(Poller):', '    def __init__(self):', '        super().__init__()', '',
      '', 'if __name__ == "__main__":', '    print(WatchAgent().uptime())', '',
    ].join('\n');
    const v2 = legacy
      .replace('import time\n', 'import time\nfrom common.core.base_agent import BaseAgent\n')
      .replace('        self.start_time = time.time()\n', '        self.polls = 0\n')
      .replace('class WatchAgent(Poller):\n    def __init__(self):\n        super().__init__()', 'class WatchAgent(Poller, BaseAgent):\n    def __init__(self):\n        BaseAgent.__init__(self, name="WatchAgent")\n        super().__init__()');
    const cases = (v2Text: string, dir: string) => {
      mkdirSync(path.join(root, dir));
      writeFileSync(path.join(root, dir, 'watch_agent.py'), legacy);
      writeFileSync(path.join(root, dir, 'watch_agent_v2.py'), v2Text);
      return { legacy: path.join(root, dir, 'watch_agent.py'), v2: path.join(root, dir, 'watch_agent_v2.py'), roots: [root] };
    };
    const subclassOnly = show(await check([cases(v2, 'a')]));
    expect(subclassOnly.filter((f) => f.includes('start_time'))).toEqual([]);
    // The parent built on its own too: its self has no start_time then.
    const builtAlone = show(await check([cases(v2.replace('print(WatchAgent().uptime())', 'print(WatchAgent().uptime(), Poller().uptime())'), 'b')]));
    expect(builtAlone.some((f) => f.startsWith('self-attr') && f.includes('Poller.start_time'))).toBe(true);
  }, 60_000);

  it('fixtures/python: every expected output', async () => {
    // The case list read once (each listCases() parses every case.yaml: once per case, that was
    // most of this test's own CPU).
    const byName = new Map(listCases().map((c) => [c.name, c]));
    const cases = corpusCases(FIXTURES, (name, _spec, root) => {
      const c = byName.get(name)!;
      materialize(c, root);
      return c.rel;
    });
    expect(cases.length).toBeGreaterThan(50);
    expect(show(await check(cases))).toEqual([]);
  }, 180_000);

  it('fixtures/python-hardened: every expected output', async () => {
    const runtime = path.join(path.dirname(REFERENCE_BASE), 'python', 'amoskys');
    const cases = corpusCases(HARDENED, (name, spec, root) => {
      cpSync(runtime, path.join(root, 'amoskys'), { recursive: true });
      cpSync(path.join(HARDENED, '_support'), root, { recursive: true, filter: (src) => !src.endsWith('README.md') });
      const extra = path.join(HARDENED, name, 'repo');
      if (existsSync(extra)) cpSync(extra, root, { recursive: true });
      const rel = spec.path ?? `agents/${name.replace(/-/g, '_')}.py`;
      mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
      writeFileSync(path.join(root, rel), readFileSync(path.join(HARDENED, name, 'input.py')));
      return rel;
    });
    expect(cases.length).toBeGreaterThan(15);
    expect(show(await check(cases))).toEqual([]);
  }, 120_000);

  it('the demo fleet: every _v2 of `run --all --no-validate --no-commit`', async () => {
    ensureBuilt();
    const root = gitRepo(path.join(REPO, 'fixtures', 'demo-fleet'), 'migrate-dangling-demo-');
    temps.push(root);
    expect((await cliInProcess(root, ['init'])).exitCode).toBe(0);
    git(root, ['add', '-A']);
    git(root, ['-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '-qm', 'base']);
    const run = await cliInProcess(root, ['run', '--all', '--no-validate', '--no-commit', '--json']);
    type Result = { file: string; output: string | null; kept_for_review: Array<{ symbol: string }>; warnings: string[] };
    const results = (JSON.parse(run.stdout) as { results: Result[] }).results;
    const cases = results.filter((r) => r.output).map((r) => ({
      legacy: path.join(root, r.file), v2: path.join(root, r.output!), roots: [root],
      acknowledged: [...r.kept_for_review.map((k) => k.symbol), ...r.warnings],
    }));
    expect(cases.length).toBeGreaterThanOrEqual(10);
    expect(show(await check(cases))).toEqual([]);
  }, 120_000);
});
