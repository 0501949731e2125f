// Progress of a batch run on stderr: a bar on a terminal, one line per finished
// agent when stderr is a file or pipe, nothing at all in --json mode.
import cliProgress from 'cli-progress';

export interface Progress {
  update(done: number, stage: string, failures: number): void;
  stop(): void;
}

export function createProgress(opts: { total: number; json: boolean; stream?: NodeJS.WriteStream }): Progress {
  const stream = opts.stream ?? process.stderr;
  if (opts.json) return { update() {}, stop() {} };

  if (!stream.isTTY) {
    let lastDone = -1;
    return {
      update(done, stage, failures) {
        if (done === lastDone) return; // stage changes alone would flood a log
        lastDone = done;
        stream.write(`migrate: ${done}/${opts.total} agents done, ${failures} failed (${stage})\n`);
      },
      stop() {},
    };
  }

  const bar = new cliProgress.SingleBar(
    {
      stream,
      format: 'migrate [{bar}] {value}/{total} agents | {stage} | failures: {failures}',
      hideCursor: true,
      clearOnComplete: false,
      barsize: 30,
    },
    cliProgress.Presets.shades_classic,
  );
  bar.start(opts.total, 0, { stage: 'starting', failures: 0 });
  let stopped = false;
  return {
    update(done, stage, failures) {
      if (!stopped) bar.update(done, { stage, failures });
    },
    stop() {
      if (stopped) return;
      stopped = true;
      bar.stop();
    },
  };
}
