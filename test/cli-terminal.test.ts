// The progress bar as a person sees it: `migrate run --all` on the demo fleet inside a real
// pseudo-terminal of 80 columns (util-linux `script`), every frame captured. The validation
// stage's bar must move agent by agent and reach N/N, and the failure count must fit.
import { existsSync, mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { BIN, DEMO_AGENTS, demoFleetRepos, ensureBuilt, tempDirsOfThisFile } from './helpers/cli.js';

const SCRIPT = ['/usr/bin/script', '/bin/script'].find((p) => existsSync(p));
const temps = tempDirsOfThisFile();

beforeAll(() => ensureBuilt(), 180_000);

/** Each redraw of a line, without control codes: split at CR, LF and "cursor to column 1". */
function frames(raw: string): string[] {
  return raw
    .split(/\r|\n|\x1b\[1G/)
    .map((l) => l.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '').trimEnd())
    .filter(Boolean);
}

describe.skipIf(!SCRIPT)('progress in a pseudo-terminal (80 columns)', () => {
  it('the validate bar advances per agent and reaches N/N; every stage ends at N/N; failures stay visible', async () => {
    const root = await demoFleetRepos(temps, 'migrate-pty-')();
    const log = path.join(mkdtempSync(path.join(os.tmpdir(), 'migrate-pty-log-')), 'typescript');
    temps.push(path.dirname(log));
    const r = await execa(SCRIPT!, ['-qfec', `stty cols 80 rows 24; exec node ${BIN} run --all --concurrency 4`, log], {
      cwd: root,
      reject: false,
      stdin: 'ignore',
      timeout: 240_000,
      env: { NO_COLOR: '1', FORCE_COLOR: '0' },
    });
    const raw = readFileSync(log, 'utf8');
    expect([0, 1], raw.slice(-3000)).toContain(r.exitCode);
    const all = frames(raw);
    const bar = /^(rewrite|verify|write|validate|commit) +\[[^\]]*\] (\d+)\/(\d+) agents \| (\d+) failed$/;
    const bars = all.map((f) => bar.exec(f)).filter((m): m is RegExpExecArray => m !== null);
    const stage = (name: string) => bars.filter((m) => m[1] === name).map((m) => ({ value: Number(m[2]), total: Number(m[3]), failed: Number(m[4]) }));

    const validate = stage('validate');
    expect(validate.length, all.join('\n').slice(0, 3000)).toBeGreaterThan(1);
    for (let i = 1; i < validate.length; i++) expect(validate[i]!.value).toBeGreaterThanOrEqual(validate[i - 1]!.value);
    expect(new Set(validate.map((v) => v.value)).size, 'moves agent by agent, not in one jump').toBeGreaterThan(2);
    expect(validate[validate.length - 1]).toMatchObject({ value: DEMO_AGENTS.length, total: DEMO_AGENTS.length });
    for (const name of ['rewrite', 'verify', 'write', 'commit']) {
      const s = stage(name);
      expect(s.length, name).toBeGreaterThan(0);
      expect(s[s.length - 1], name).toMatchObject({ value: DEMO_AGENTS.length, total: DEMO_AGENTS.length });
    }
    // The failure count on the last bar is the run's: the summary line says the same.
    const failed = Number(/(\d+) failed(?:,| in)/.exec(all.find((l) => / in \d+\.\d s/.test(l)) ?? '')?.[1] ?? 0);
    expect(stage('commit').pop()!.failed).toBe(failed);
    for (const m of bars) expect(m[0].length, m[0]).toBeLessThanOrEqual(80);
  }, 300_000);
});
