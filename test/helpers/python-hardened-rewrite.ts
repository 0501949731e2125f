// The rewriting half of the seed-001 fixture helpers (test/helpers/python-hardened.ts holds the
// corpus, its repositories and Phase 5): the hardened-agent-base profile, each case rewritten as
// `migrate run` does (the rewrite pool's own rewriteOne) and the parse of an output its checks
// read. Only test/python-hardened.test.ts rewrites; kept apart so that the files that only start
// migrated fixtures (Phase 5, the run-time tests of one fixture) load none of the engine's
// sources through vitest's transform (about 3 CPU-s a file: the scan, the rewrite pipeline,
// the Python parser and module model).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { loadProfile } from '../../src/profile/profile.js';
import { parsePython, decodePythonSource, type Tree } from '../../src/lang/python/parser.js';
import { ReferenceIndex } from '../../src/analysis/references.js';
import { buildModuleModel, type ModuleModel } from '../../src/lang/python/module-model.js';
import { scanRepository } from '../../src/discover/scan.js';
import type { AgentInfo, RewriteOutcome } from '../../src/core/types.js';
import { rewriteAsCli } from './cli-verify.js';
import { materialize, type Case } from './python-hardened.js';

export const profile = loadProfile('hardened-agent-base');

export async function migrate(c: Case): Promise<{ agent?: AgentInfo; outcome?: RewriteOutcome; root: string; error?: string }> {
  const root = materialize(c);
  const scan = await scanRepository(root, profile);
  const agent = scan.agents.find((a) => a.file === c.rel);
  if (!agent) {
    const skipped = scan.skipped.find((s) => s.file === c.rel);
    return { root, error: skipped ? `${skipped.file}: ${skipped.reason}` : undefined };
  }
  const source = decodePythonSource(readFileSync(path.join(root, c.rel)), c.rel);
  const asLegacy = c.spec.rewrite_migrated ? { ...agent, status: 'legacy' as const } : agent;
  // The CLI's own rewrite (rewrite pool), with verification's in-worker passes.
  const outcome = await rewriteAsCli(root, c.rel, source, asLegacy, profile);
  return { agent, outcome, root, error: outcome.status === 'failed' ? outcome.error : undefined };
}

export function stillDefined(output: string, name: string, agentClass?: string): boolean {
  // Removed from the agent: transport code that moved into the module's EventBusPublisher is
  // not the agent's any more.
  const cls = agentClass ? parsedOutput(output).module().classes.find((c) => c.name === agentClass) : undefined;
  const scope = cls ? cls.node.text : output;
  return new RegExp(`\\b(def|class)\\s+${name}\\b|self\\.${name}\\s*(:[^=\\n]+)?=[^=]`).test(scope);
}

export function stillMentioned(output: string, name: string): boolean {
  return parsedOutput(output).refs().of(name).length > 0 || stillDefined(output, name);
}

/**
 * The parse of the output a case checks, its module model and reference index, each made once
 * for all its names (a case's removed/kept lists name up to a dozen symbols, and each check had
 * parsed the whole output again). Only the last output is held: the cases run one at a time.
 */
let lastParsed: { output: string; tree: Tree; module: () => ModuleModel; refs: () => ReferenceIndex } | undefined;
export function parsedOutput(output: string): NonNullable<typeof lastParsed> {
  if (lastParsed?.output !== output) {
    const tree = parsePython(output);
    let module: ModuleModel | undefined;
    let refs: ReferenceIndex | undefined;
    lastParsed = { output, tree, module: () => (module ??= buildModuleModel(output, tree)), refs: () => (refs ??= new ReferenceIndex(tree.rootNode)) };
  }
  return lastParsed;
}

