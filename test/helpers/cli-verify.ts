// A fixture case's rewrite and verification as `migrate run` makes them: the rewrite pool's own
// rewriteOne (which runs verification's in-worker passes: the second run and the check that no
// method that ran in the original lost its callers), then the adapter's batch verify with that
// verdict (the outputs compiled in one python3). A fixture that expects an output the CLI would
// refuse fails here, instead of passing its own test while the CLI writes nothing.
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { rewriteOne } from '../../src/pipeline/rewrite-pool.js';
import { adapterFor } from '../../src/lang/registry.js';
import type { AgentInfo, RewriteOutcome } from '../../src/core/types.js';
import type { Profile } from '../../src/profile/profile.js';
import type { VerifyRequest } from '../../src/pipeline/language.js';
import type { KeptParse } from '../../src/pipeline/parse-store.js';

/**
 * The rewrite of one agent exactly as the CLI's rewrite pool makes it, with a batch's snapshot id
 * as batch.ts gives every job: the repository is listed and read once for the rewrite and its
 * verification's second run, not again (outside git, a `git ls-files` that fails and a walk).
 * With `kept`, the scan's parse of this source (a ParseStore's, as `migrate run` hands it on in
 * batch.ts): the input is not parsed again, as in a run.
 */
export function rewriteAsCli(root: string, rel: string, source: string, agent: AgentInfo, profile: Profile, kept?: KeptParse): Promise<RewriteOutcome> {
  return rewriteOne({ root, file: path.join(root, rel), source, agent, snapshot: randomUUID(), parsed: kept?.data, native: kept?.native }, profile);
}

/** The request the CLI's verify step gets for a changed outcome (see batch.ts verifyRequest). */
export function verifyRequestAsCli(root: string, rel: string, agent: AgentInfo, profile: Profile, outcome: RewriteOutcome): VerifyRequest {
  const adapter = adapterFor(agent.language);
  return {
    root,
    outputFile: path.join(root, adapter.outputPath(rel)),
    output: outcome.output!,
    agent,
    profile,
    idempotency: outcome.idempotency,
    review: outcome.kept_for_review,
  };
}

/** The CLI's verify step over many outputs of one language: one line per output it refuses ("" when none). */
export async function cliRefusals(reqs: Array<{ name: string; req: VerifyRequest }>): Promise<string> {
  if (!reqs.length) return '';
  const errors = await adapterFor(reqs[0]!.req.agent.language).verify(reqs.map((r) => r.req));
  return errors.map((e, i) => (e ? `${reqs[i]!.name}: ${e}` : '')).filter(Boolean).join('\n');
}
