// Commands run side by side in one process (src/core/invocation.ts, `alongside`): each prints to
// its own streams, whichever started last, and what runs outside any command prints to the
// process's own again once they have ended.
import { describe, expect, it } from 'vitest';
import { io, withInvocation } from '../src/core/invocation.js';
import { capture } from './helpers/cli.js';

const tick = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('invocations alongside one another', () => {
  it('each prints to its own streams while the other runs', async () => {
    const [a, b] = [capture(), capture()];
    // a prints before b starts, while b runs and after b has ended; b prints while a runs.
    const runA = withInvocation({ argv: ['a'], stdout: a.stream, stderr: a.stream }, async () => {
      io.stdout.write('a1 ');
      await tick(30);
      io.stdout.write(`a2:${io.argv.join()} `);
      await tick(60);
      io.stderr.write('a3');
      return 0;
    }, { alongside: true });
    await tick(10);
    const runB = withInvocation({ argv: ['b'], stdout: b.stream, stderr: b.stream }, async () => {
      io.stdout.write('b1 ');
      await tick(40);
      io.stdout.write(`b2:${io.argv.join()}`);
      return 0;
    }, { alongside: true });
    await Promise.all([runA, runB]);
    expect(a.text()).toBe('a1 a2:a a3');
    expect(b.text()).toBe('b1 b2:b');
    expect(io.stdout).toBe(process.stdout);
  });
});
