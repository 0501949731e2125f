// A batch lets go of each agent's texts (original and output) once the agent is finished with
// its output on disk: at fleet scale they were most of what a run held to its end. Previews
// still carry every agent whose output is not on disk (what `review` and `report` cannot read
// back), and every agent when a patch of the run is wanted (--patch).
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runBatch } from '../src/pipeline/batch.js';
import { loadProfile } from '../src/profile/profile.js';
import { git, initGit, REPO, tempDirsOfThisFile } from './helpers/cli.js';
import { writeFleet } from './bench/fleet/fleet.js';

const temps = tempDirsOfThisFile();

function fleet(): { root: string; blocked: string } {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-previews-'));
  temps.push(root);
  const { files } = writeFleet(root, 6, { baseDir: path.join(REPO, 'fixtures', 'python', '_base'), typescriptShare: 0, minLines: 80, maxLines: 140, seed: 5 });
  // One agent's _v2 already exists and differs: without --force that agent fails, nothing written.
  const blocked = files.find((f) => f.language === 'python')!.rel;
  writeFileSync(path.join(root, blocked.replace(/\.py$/, '_v2.py')), '# a hand-made draft\n');
  initGit(root);
  return { root, blocked };
}

describe('batch previews', () => {
  for (const previews of ['unwritten', 'all'] as const) {
    it(`carry ${previews === 'all' ? 'every agent' : 'only agents whose output is not on disk'} (${previews})`, { timeout: 120_000 }, async () => {
      const { root, blocked } = fleet();
      const outcome = await runBatch({
        root,
        profile: loadProfile('base-agent', root),
        agents: [],
        all: true,
        dryRun: false,
        validate: false,
        commit: false,
        force: false,
        allowDirty: true,
        concurrency: 1,
        runInBand: true,
        previews,
      });
      const written = outcome.results.filter((r) => r.output !== null);
      const failed = outcome.results.filter((r) => r.status === 'failed');
      expect(written.length).toBeGreaterThanOrEqual(4);
      expect(failed.map((r) => r.file)).toEqual([blocked]);
      const carried = outcome.previews.map((p) => p.agent).sort();
      if (previews === 'all') expect(carried).toEqual([...written, ...failed].map((r) => r.agent).sort());
      else expect(carried).toEqual(failed.map((r) => r.agent));
      git(root, ['clean', '-fdxq']);
    });
  }
});
