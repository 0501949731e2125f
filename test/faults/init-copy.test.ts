// `migrate init` cut short while it copies the reference base (probe-fault55): the copy went
// straight to the base's path, so a file-size limit (or a full disk, or a kill) left a truncated
// base there, which every later `init` refused to overwrite ("already exists") and every run
// migrated agents onto. The base is now written to a temporary file beside it and put in place
// whole: a failed copy leaves no base, and the next init makes it.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInProcess, gitRepo } from '../helpers/cli.js';
import { BIN, cleanupAll, DEMO, ensureBuilt, git, REPO } from './harness.js';

beforeAll(() => ensureBuilt(), 180_000);
afterAll(cleanupAll);

const BASE = 'common/core/base_agent.py';
const TEMPLATE = path.join(REPO, 'templates', 'runtime', 'python', BASE);

describe('`migrate init` under a file-size limit smaller than the base', () => {
  it('fails with one line naming the base, leaves no base and no temporary file; the next init makes the whole base', async () => {
    const root = gitRepo(DEMO, 'migrate-init-copy-');
    try {
      // 8 blocks of 512 bytes: far less than the base (some 22 kB). Node ignores SIGXFSZ: the write fails with EFBIG.
      const limited = await execa('sh', ['-c', 'ulimit -f 8 && exec "$@"', 'sh', 'node', BIN, 'init', '--lang', 'python', '--root', root], {
        cwd: root,
        reject: false,
        env: { FORCE_COLOR: '0', NO_COLOR: '1' },
      });
      expect(limited.exitCode, limited.stderr).toBe(1);
      expect(limited.stderr).toBe(`migrate: cannot write ${BASE} (EFBIG: a file-size limit); nothing of it was written: run migrate init again once it can be`);
      expect(existsSync(path.join(root, BASE)), 'no truncated base').toBe(false);
      expect(readdirSync(path.join(root, 'common', 'core')).filter((f) => f.endsWith('.tmp'))).toEqual([]);

      const again = await cliInProcess(root, ['init', '--lang', 'python']);
      expect(again.exitCode, again.stderr).toBe(0);
      expect(readFileSync(path.join(root, BASE))).toEqual(readFileSync(TEMPLATE));
      expect(git(root, ['status', '--porcelain', '--untracked-files=all']).split('\n').sort()).toEqual(['?? common/__init__.py', `?? ${BASE}`, '?? common/core/__init__.py'].sort());
    } finally {
      // gitRepo's folder is this test's own.
      await execa('rm', ['-rf', root]);
    }
  }, 60_000);
});
