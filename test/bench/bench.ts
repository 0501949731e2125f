// `npm run bench`: speed and memory measured side by side in one run, reported as
// ratios (these machines are shared and noisy; absolute numbers mean little).
//  1. rewrite: the Python fixture corpus copied N times, rewritten in band vs across
//     worker threads (the same code either way), with peak RSS;
//  2. scan: one scan of that corpus (parse + classify + one python3 compile);
//  3. validation: ten agents with concurrency 1 vs 4 (test/bench/validate-bench.ts).
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import '../../src/lang/adapters.js';
import { loadProfile } from '../../src/profile/profile.js';
import { scanRepository } from '../../src/discover/scan.js';
import { rewriteAll, type RewriteJob } from '../../src/pipeline/rewrite-pool.js';
import { decodePythonSource } from '../../src/lang/python/parser.js';
import { benchValidation } from './validate-bench.js';

function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'fixtures', 'python'))) dir = path.dirname(dir);
  return dir;
}

async function time<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const t = performance.now();
  const r = await fn();
  return [r, performance.now() - t];
}

async function main() {
  const root = repoRoot();
  const copies = Number(process.env.BENCH_COPIES ?? 6);
  const corpus = mkdtempSync(path.join(os.tmpdir(), 'migrate-bench-'));
  const fixtures = path.join(root, 'fixtures', 'python');
  cpSync(path.join(fixtures, '_base'), corpus, { recursive: true });
  for (let i = 0; i < copies; i++) {
    for (const c of readdirSync(fixtures)) {
      const input = path.join(fixtures, c, 'input.py');
      if (c.startsWith('_') || c === 'huge-agent' || !existsSync(input)) continue;
      cpSync(input, path.join(corpus, `agents${i}`, `${c.replace(/-/g, '_')}.py`));
    }
  }
  const profile = loadProfile('base-agent');
  try {
    const [scan, scanMs] = await time(() => scanRepository(corpus, profile));
    const jobs: RewriteJob[] = scan.agents
      .filter((a) => a.status === 'legacy')
      .map((a) => {
        const file = path.join(corpus, a.file);
        return { root: corpus, file, agent: a, source: decodePythonSource(readFileSync(file), a.file) };
      });
    const rssBefore = process.memoryUsage().rss;
    const [inBand, inBandMs] = await time(() => rewriteAll(jobs, profile, { inBand: true }));
    const rssInBand = process.memoryUsage().rss;
    const [pooled, pooledMs] = await time(() => rewriteAll(jobs, profile, {}));
    const same = inBand.every((r, i) => r.output === pooled[i]!.output);
    const mb = (n: number) => (n / 1024 / 1024).toFixed(0);
    console.log(`scan: ${scan.agents.length} agents + ${scan.skipped.length} skipped files in ${(scanMs / 1000).toFixed(2)} s`);
    console.log(
      `rewrite ${jobs.length} agents: in band ${(inBandMs / 1000).toFixed(2)} s, ${os.availableParallelism()} cores worker pool ${(pooledMs / 1000).toFixed(2)} s ` +
        `(${(inBandMs / pooledMs).toFixed(2)}x); ${(jobs.length / (pooledMs / 1000)).toFixed(1)} agents/s; identical outputs: ${same}; ` +
        `RSS ${mb(rssBefore)} MB -> ${mb(rssInBand)} MB in band`,
    );
    if (!same) process.exitCode = 1;
  } finally {
    rmSync(corpus, { recursive: true, force: true });
  }
  console.log(await benchValidation());
}

await main();
