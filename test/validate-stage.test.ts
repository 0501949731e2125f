// The validation stage of a batch: launch commands are made before any agent starts, and one
// that cannot be made fails its agent alone, with the reason, while the others validate.
import { afterAll, describe, expect, it } from 'vitest';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { AgentInfo } from '../src/core/types.js';
import { loadProfile } from '../src/profile/profile.js';
import { runValidationStage } from '../src/pipeline/validate-stage.js';
import { liveGroups } from '../src/validate/process-group.js';
import '../src/lang/adapters.js';

const FLEET = path.resolve(__dirname, '..', 'fixtures', 'validate', 'fleet');
const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-validate-stage-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

function agent(name: string, file: string, language: AgentInfo['language']): AgentInfo {
  return { name, file, language, class: name, status: 'legacy', findings: [], line: 1, evidence: [] };
}

describe('runValidationStage', () => {
  it('an agent whose launch cannot be made fails alone, with the reason; the others validate', async () => {
    cpSync(FLEET, root, { recursive: true });
    // An abstract family parent with no subclass on either side: nothing can run it.
    mkdirSync(path.join(root, 'services'), { recursive: true });
    const parent = [
      "import { BaseAgent } from '../common/base-agent';",
      '',
      'export abstract class PollerFamily extends BaseAgent {',
      '  protected abstract poll(): Promise<number>;',
      '}',
      '',
    ].join('\n');
    writeFileSync(path.join(root, 'services', 'poller-family.ts'), parent.replace(' extends BaseAgent', '').replace(/^import.*\n\n/, ''));
    writeFileSync(path.join(root, 'services', 'poller-family_v2.ts'), parent);
    const previous = process.env.MIGRATE_SURVIVAL_WINDOW_S;
    process.env.MIGRATE_SURVIVAL_WINDOW_S = '1';
    try {
      const reports = await runValidationStage(
        root,
        [
          { agent: agent('OrderRouter', 'agents/order_router.py', 'python'), file: path.join(root, 'agents', 'order_router_v2.py'), legacyFile: path.join(root, 'agents', 'order_router.py') },
          { agent: agent('PollerFamily', 'services/poller-family.ts', 'typescript'), file: path.join(root, 'services', 'poller-family_v2.ts'), legacyFile: path.join(root, 'services', 'poller-family.ts') },
        ],
        { profile: loadProfile('base-agent'), concurrency: 2 },
      );
      expect(reports[0]!.ok).toBe(true);
      expect(reports[1]!.ok).toBe(false);
      expect(reports[1]!.error).toMatch(/^services\/poller-family_v2\.ts: cannot prepare the launch command: .*PollerFamily is abstract and no subclass migrated with it \(_v2\) runs it/);
    } finally {
      if (previous === undefined) delete process.env.MIGRATE_SURVIVAL_WINDOW_S;
      else process.env.MIGRATE_SURVIVAL_WINDOW_S = previous;
    }
    expect(liveGroups()).toEqual([]);
  });
});
