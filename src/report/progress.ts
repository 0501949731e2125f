// Progress of a batch run on stderr. On a terminal: one bar per stage that moves one agent
// at a time and ends at N/N, left on screen when the stage ends, with the failure count
// early in the line so 80 columns show it. On a file or pipe: one line when a stage starts,
// one per validated agent and one per finished agent. Nothing at all in --json mode.
import { createRequire } from 'node:module';
import type cliProgress from 'cli-progress';
import type { BatchProgress } from '../pipeline/batch.js';
import { io } from '../core/invocation.js';

export interface Progress {
  update(event: BatchProgress): void;
  stop(): void;
}

const STAGE_WIDTH = 'validate'.length;
const require = createRequire(import.meta.url);

export function createProgress(opts: { json: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = opts.stream ?? io.stderr;
  if (opts.json) return { update() {}, stop() {} };
  return stream.isTTY ? terminalProgress(stream) : lineProgress(stream);
}

/** One line per event worth a log line: a stage starting, an agent validated, an agent finished. */
function lineProgress(stream: NodeJS.WriteStream): Progress {
  let stage = '';
  const counts = (e: BatchProgress) => `[${e.done}/${e.total} done, ${e.failures} failed]`;
  return {
    update(e) {
      if (e.stage !== stage) {
        stage = e.stage;
        const entering = e.total - e.past;
        if (entering > 0) stream.write(`migrate: ${e.stage} ${entering} agent${entering === 1 ? '' : 's'}\n`);
      }
      if (e.validated) stream.write(`migrate: ${counts(e)} ${e.validated.agent}: validated, commit follows\n`);
      if (e.finished) {
        const r = e.finished;
        const why = r.status === 'failed' || r.status === 'skipped' || r.status === 'not-validated' ? `: ${r.error ?? 'no reason given'}` : r.commit ? ` (commit ${r.commit.slice(0, 10)})` : '';
        stream.write(`migrate: ${counts(e)} ${r.agent}: ${r.status}${why}\n`);
      }
    },
    stop() {},
  };
}

/** A cli-progress bar per stage; a finished stage's bar stays as a line of its own. */
function terminalProgress(stream: NodeJS.WriteStream): Progress {
  // Loaded only for a terminal (24 modules, 10-15 ms of CPU): piped and --json runs never draw a bar.
  const bars = require('cli-progress') as typeof cliProgress;
  let bar: cliProgress.SingleBar | null = null;
  let stage = '';
  const stopBar = () => {
    bar?.stop();
    bar = null;
  };
  return {
    update(e) {
      if (e.stage !== stage || !bar) {
        stopBar();
        stage = e.stage;
        const columns = stream.columns || 80;
        bar = new bars.SingleBar(
          {
            stream,
            format: `${e.stage.padEnd(STAGE_WIDTH)} [{bar}] {value}/{total} agents | {failures} failed`,
            hideCursor: true,
            clearOnComplete: false,
            // Room for the stage, the counts and the failures at any width from 50 columns.
            barsize: Math.max(10, Math.min(30, columns - 50)),
          },
          bars.Presets.shades_classic,
        );
        bar.start(e.total, e.past, { failures: e.failures });
        return;
      }
      bar.update(e.past, { failures: e.failures });
    },
    stop: stopBar,
  };
}
