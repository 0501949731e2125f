// The watchdog process: started (detached, in its own session) by a tool process that
// validates agents, told on stdin about every agent it starts and ends. When the tool
// dies in any way (kill -9 included) its end of the pipe closes, and the watchdog kills
// what is left of those agents; an agent past its own time limit is killed too, so no
// agent outlives the tool or its deadline. It proves each process is the agent's
// (start time, marker, cgroup) before it signals anything.
import { createInterface } from 'node:readline';
import { killRecordedTree, type TreeRecord } from './process-group.js';

/** By marker: an agent is announced before its spawn, then tracked again with its pid. */
const trees = new Map<string, TreeRecord>();
let ending = false;

async function killAll(): Promise<void> {
  await Promise.all([...trees.values()].map((t) => killRecordedTree(t)));
  trees.clear();
}

async function end(): Promise<void> {
  if (ending) return;
  ending = true;
  await killAll();
  process.exit(0);
}

const lines = createInterface({ input: process.stdin });
lines.on('line', (line) => {
  let msg: { op?: string; tree?: TreeRecord; mark?: string };
  try {
    msg = JSON.parse(line) as typeof msg;
  } catch {
    return;
  }
  if (msg.op === 'track' && msg.tree) trees.set(msg.tree.mark, msg.tree);
  else if (msg.op === 'untrack' && typeof msg.mark === 'string') trees.delete(msg.mark);
});
lines.on('close', () => void end());
for (const s of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(s, () => void end());

// Deadlines: a few seconds of grace after the agent's own time limit, which the tool
// normally enforces itself.
setInterval(() => {
  const now = Date.now();
  for (const [mark, t] of trees) {
    if (t.deadline !== undefined && now > t.deadline + 5000) {
      trees.delete(mark);
      void killRecordedTree(t);
    }
  }
}, 500);
