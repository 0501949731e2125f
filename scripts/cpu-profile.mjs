#!/usr/bin/env node
// Where a command's time goes: self and inclusive time per function of V8 CPU profiles, one
// table per thread (the main thread and each worker write their own file).
//
//   MIGRATE_CACHE=0 node --cpu-prof --cpu-prof-dir=/tmp/prof bin/migrate.js scan --json > /dev/null
//   node scripts/cpu-profile.mjs /tmp/prof            every profile in the directory
//   node scripts/cpu-profile.mjs FILE.cpuprofile 60   one profile, 60 rows per table
//   node scripts/cpu-profile.mjs DIR --callers NAME   who spends the time of function NAME (a
//       binding getter, the parser, the garbage collector): its inclusive time by the chain of
//       project functions (src/, transforms/) nearest to it, three deep
//
// Times are sampled wall time of the thread (a busy shared machine inflates them all alike:
// read the shares, not the seconds). A function counts once in its inclusive time however
// deep it recurses. Paths are shortened to src/, transforms/ or node_modules/.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';

function summarise(file, rows, callersOf) {
  const p = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(p.nodes.map((n) => [n.id, n]));
  const parent = new Map();
  for (const n of p.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const spent = new Map();
  for (let i = 0; i < p.samples.length; i++) spent.set(p.samples[i], (spent.get(p.samples[i]) ?? 0) + (p.timeDeltas[i] ?? 0));
  const key = (n) => {
    const f = n.callFrame;
    const where = f.url.replace(/^.*?\/(src|transforms|node_modules)\//, '$1/').replace(/^file:\/\//, '');
    return `${f.functionName || '(anonymous)'} ${where}${where ? `:${f.lineNumber + 1}` : ''}`;
  };
  if (callersOf) return callers(file, p, byId, parent, spent, key, callersOf, rows);
  const self = new Map();
  const inclusive = new Map();
  let total = 0;
  for (const n of p.nodes) {
    const t = spent.get(n.id) ?? 0;
    if (!t) continue;
    total += t;
    const k = key(n);
    self.set(k, (self.get(k) ?? 0) + t);
    const seen = new Set();
    for (let id = n.id; id !== undefined; id = parent.get(id)) {
      const a = key(byId.get(id));
      if (seen.has(a)) continue;
      seen.add(a);
      inclusive.set(a, (inclusive.get(a) ?? 0) + t);
    }
  }
  const table = (m, title) => {
    console.log(`\n${title} (${path.basename(file)}, ${(total / 1e6).toFixed(2)} s sampled)`);
    for (const [k, v] of [...m].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
      console.log(`${(v / 1e6).toFixed(2).padStart(8)} s ${((100 * v) / total).toFixed(1).padStart(5)} %  ${k}`);
    }
  };
  table(self, 'self time');
  table(inclusive, 'inclusive time');
}

/** The samples under a function named `name`, by the three project frames nearest to it (the caller first). */
function callers(file, p, byId, parent, spent, key, name, rows) {
  const by = new Map();
  let total = 0;
  let under = 0;
  for (const n of p.nodes) {
    const t = spent.get(n.id) ?? 0;
    if (!t) continue;
    total += t;
    let inside = false;
    const chain = [];
    for (let id = n.id; id !== undefined && chain.length < 3; id = parent.get(id)) {
      const m = byId.get(id);
      if (m.callFrame.functionName === name) inside = true;
      else if (inside && /\/(src|transforms)\//.test(m.callFrame.url)) chain.push(key(m));
    }
    if (!inside) continue;
    under += t;
    const k = chain.join(' < ') || '(no project caller)';
    by.set(k, (by.get(k) ?? 0) + t);
  }
  console.log(`\n${name} (${path.basename(file)}): ${(under / 1e6).toFixed(2)} s of ${(total / 1e6).toFixed(2)} s sampled, by its nearest project callers`);
  for (const [k, v] of [...by].sort((a, b) => b[1] - a[1]).slice(0, rows)) {
    console.log(`${(v / 1e6).toFixed(2).padStart(8)} s ${((100 * v) / Math.max(1, under)).toFixed(1).padStart(5)} %  ${k}`);
  }
}

const args = process.argv.slice(2);
const at = args.indexOf('--callers');
const callersOf = at >= 0 ? args.splice(at, 2)[1] : undefined;
const [target, rowsArg] = args;
if (!target || (at >= 0 && !callersOf)) {
  console.error('usage: node scripts/cpu-profile.mjs DIR|FILE.cpuprofile [rows] [--callers FUNCTION]');
  process.exit(2);
}
const rows = Number(rowsArg ?? 30);
const files = statSync(target).isDirectory()
  ? readdirSync(target)
      .filter((f) => f.endsWith('.cpuprofile'))
      .sort()
      .map((f) => path.join(target, f))
  : [target];
for (const f of files) summarise(f, rows, callersOf);
