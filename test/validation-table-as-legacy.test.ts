// A check passed as the legacy agent's own unhealthy answer (as_legacy) reads the same wherever a
// person looks: the record holds the check whole, `migrate validate --json` carries as_legacy with
// the detail, and the table shows "as legacy" (not "ok") with the detail below it.
import { describe, expect, it } from 'vitest';
import type { CheckResult } from '../src/core/types.js';
import { validationJson, validationTable, type ValidationRow } from '../src/report/validation-table.js';

const same = { code: 503, status: 'degraded', port: 7472 };
const survival: CheckResult = { name: 'survival', ok: true, ms: 4000, detail: 'stayed up for 4.0 s after its first healthy answer (3 probes), in it answering 503 status "degraded", ...', as_legacy: same };
const row: ValidationRow = {
  agent: 'FxSampler',
  file: 'services/fx-sampler.ts',
  output: 'services/fx-sampler_v2.ts',
  validation: { ok: true, ms: 9000, checks: [{ name: 'health', ok: true, ms: 500, detail: 'GET /health on port 1 answered 200 status "ok" after 0.5 s' }, survival] },
} as ValidationRow;

describe('a check passed as the legacy agent answered', () => {
  it('--json carries as_legacy beside its detail, and only on that check', () => {
    const checks = JSON.parse(validationJson([row])).results[0].validation.checks;
    expect(checks[1]).toEqual({ name: 'survival', ok: true, ms: 4000, detail: survival.detail, as_legacy: same });
    expect(checks[0].as_legacy).toBeUndefined();
  });
  it('the table says "as legacy" in its cell and the detail under the table', () => {
    const text = validationTable([row]);
    const line = text.split('\n').find((l) => l.startsWith('FxSampler'))!;
    expect(line).toMatch(/ok 0\.5s .* as legacy 4\.0s/);
    expect(text).toContain(`  ~ FxSampler survival: ${survival.detail}`);
    expect(text).toContain('1 agent(s): 1 passed, 0 failed');
  });
});
