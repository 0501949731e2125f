// Run-time check of a legacy run() loop whose `try: <the cycle> except Exception: logger.exception(...)` the
// migration drops onto the base (smartcli-loop-try-logs-whole-cycle): the base's run_cycle() must do what the
// guard did. The health command's first run prints bytes that are not UTF-8, so collect() raises
// UnicodeDecodeError (subprocess's text=True) once; later runs print devices. The legacy logs "cycle failed"
// with the traceback and goes on; the _v2 on the reference base logs the same exception and goes on too (more
// runs of the command follow, the process stays up). Validation's own check cannot tell: its cycles never raise.
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { migratedCase, recordingRegistry, removeRoots, startOnBase } from './helpers/python-hardened.js';

afterAll(removeRoots);

// The command counts its runs in a file; the first prints undecodable bytes.
const SCAN = `import sys
path = sys.argv[1]
try:
    runs = int(open(path).read())
except OSError:
    runs = 0
open(path, "w").write(str(runs + 1))
if runs == 0:
    sys.stdout.buffer.write(b"/dev/sda -d sat # \\xff\\xfe broken\\n")
else:
    sys.stdout.write("/dev/sda -d sat # /dev/sda [SAT], ATA device\\n")
`;

const runsIn = (file: string) => {
  try {
    return Number(readFileSync(file, 'utf8'));
  } catch {
    return 0;
  }
};

it("a cycle raising once is logged and the next cycles run, on the base as in the legacy run()'s try:", async () => {
  const { c, root, v2 } = await migratedCase('smartcli-loop-try-logs-whole-cycle');
  writeFileSync(path.join(root, 'scan.py'), SCAN);
  const paths: string[] = [];
  const { server, url } = await recordingRegistry(paths);
  try {
    for (const [file, raised] of [[c.rel, 'cycle failed'], [v2, 'collect_data failed']] as const) {
      const counter = path.join(root, `runs-${path.basename(file)}`);
      const { child, exited, output: log } = startOnBase(root, file, url, {
        SMART_CMD: `python3 ${path.join(root, 'scan.py')} ${counter}`,
        SMART_INTERVAL: '0.3',
        COLLECTION_INTERVAL: '0.3',
        EVENTBUS_ADDRESS: '127.0.0.1:9',
      });
      try {
        const end = Date.now() + 20_000;
        while (Date.now() < end && child.exitCode === null && runsIn(counter) < 3) await new Promise((r) => setTimeout(r, 100));
        expect(runsIn(counter), `${file}\n${log()}`).toBeGreaterThanOrEqual(3);
        expect(child.exitCode, log()).toBeNull();
        expect(log()).toContain(raised);
        expect(log()).toContain('UnicodeDecodeError');
      } finally {
        child.kill('SIGKILL');
        await exited;
      }
    }
  } finally {
    server.close();
  }
}, 90_000);
