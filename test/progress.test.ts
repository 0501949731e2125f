// The batch's progress output, driven with the events runBatch emits: a bar per stage on a
// terminal (ending at N/N, failures visible at 80 columns), log lines on a pipe, nothing with --json.
import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import type { BatchProgress, BatchStage } from '../src/pipeline/batch.js';
import type { RunResult } from '../src/core/types.js';
import { createProgress } from '../src/report/progress.js';

class Sink extends Writable {
  text = '';
  constructor(
    readonly isTTY: boolean,
    readonly columns = 80,
  ) {
    super();
  }
  override _write(chunk: Buffer, _enc: string, cb: () => void) {
    this.text += chunk.toString();
    cb();
  }
  cursorTo(x: number, _y?: number, cb?: () => void) {
    this.text += `\x1b[${x + 1}G`;
    cb?.();
    return true;
  }
  clearLine(_dir: number, cb?: () => void) {
    cb?.();
    return true;
  }
  moveCursor(_dx: number, _dy: number, cb?: () => void) {
    cb?.();
    return true;
  }
}
const asStream = (s: Sink) => s as unknown as NodeJS.WriteStream;

function result(agent: string, status: RunResult['status'], extra: Partial<RunResult> = {}): RunResult {
  return { agent, file: `agents/${agent}.py`, output: null, status, removed: [], kept_for_review: [], warnings: [], validation: null, commit: null, error: null, ...extra };
}

/** Events of a 3-agent run: one fails verification, one validation; the third is committed. */
function events(): BatchProgress[] {
  const out: BatchProgress[] = [];
  let done = 0;
  let failures = 0;
  const e = (stage: BatchStage, past: number, extra: Partial<BatchProgress> = {}) => out.push({ stage, past, total: 3, done, failures, ...extra });
  e('rewrite', 0);
  e('rewrite', 1);
  e('rewrite', 2);
  e('rewrite', 3);
  e('verify', 0);
  done++;
  failures++;
  e('verify', 1, { finished: result('Alpha', 'failed', { error: 'verify: line 3: invalid syntax' }) });
  e('verify', 2);
  e('verify', 3);
  e('write', 1);
  e('write', 2);
  e('write', 3);
  e('validate', 1);
  done++;
  failures++;
  e('validate', 2, { finished: result('Beta', 'failed', { error: 'validation: health: no answer' }) });
  e('validate', 3, { validated: result('Gamma', 'migrated') });
  e('commit', 2);
  done++;
  e('commit', 3, { finished: result('Gamma', 'migrated', { commit: 'abcdef0123456789abcdef0123456789abcdef01' }) });
  return out;
}

const visible = (s: string) => s.replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]/g, '');

describe('progress', () => {
  it('prints nothing in --json mode', () => {
    const sink = new Sink(true);
    const p = createProgress({ json: true, stream: asStream(sink) });
    for (const e of events()) p.update(e);
    p.stop();
    expect(sink.text).toBe('');
  });

  it('prints a line per stage start, per validated agent and per finished agent when not a terminal', () => {
    const sink = new Sink(false);
    const p = createProgress({ json: false, stream: asStream(sink) });
    for (const e of events()) p.update(e);
    p.stop();
    expect(sink.text.split('\n').filter(Boolean)).toEqual([
      'migrate: rewrite 3 agents',
      'migrate: verify 3 agents',
      'migrate: [1/3 done, 1 failed] Alpha: failed: verify: line 3: invalid syntax',
      'migrate: write 2 agents',
      'migrate: validate 2 agents',
      'migrate: [2/3 done, 2 failed] Beta: failed: validation: health: no answer',
      'migrate: [2/3 done, 2 failed] Gamma: validated, commit follows',
      'migrate: commit 1 agent',
      'migrate: [3/3 done, 2 failed] Gamma: migrated (commit abcdef0123)',
    ]);
  });

  it('on a terminal draws one bar per stage, each left at N/N, with the failures within 80 columns', () => {
    const sink = new Sink(true, 80);
    const p = createProgress({ json: false, stream: asStream(sink) });
    for (const e of events()) p.update(e);
    p.stop();
    p.stop();
    // Each redraw starts at column 1 (ESC [1G): split there, then drop the control codes.
    const frames = sink.text
      .split(/\r|\n|\x1b\[1G/)
      .map((l) => visible(l).trimEnd())
      .filter(Boolean);
    for (const stage of ['rewrite', 'verify', 'write', 'validate', 'commit']) {
      const mine = frames.filter((f) => f.startsWith(`${stage} `));
      expect(mine.length, stage).toBeGreaterThan(0);
      expect(mine[mine.length - 1], stage).toMatch(/ 3\/3 agents \| \d failed$/);
    }
    expect(frames.filter((f) => f.startsWith('validate ')).pop()).toContain('3/3 agents | 2 failed');
    for (const f of frames) expect(f.length, f).toBeLessThanOrEqual(80);
  });
});
