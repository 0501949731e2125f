// The latest `migrate run` result of each agent that did not end in a commit: the
// uncommitted `_v2` files of a --no-commit run (what was removed, what is left for
// review, warnings) and failed agents (their error, validation and the output that
// failed). Kept under .git/migrate/results/ (this clone only): a failure leaves
// nothing in the work tree, yet reviewers (`migrate review`, `migrate report`) must
// see it. A committed agent's record is the truth; its entry here is dropped.
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Language, RunResult } from '../core/types.js';
import { sha256File } from './migration-log.js';
import { AGENT_FILE_NAME, localStateDir } from './local-state.js';

export interface RememberedResult {
  result: RunResult;
  language: Language;
  profile: string;
  at: string;
  /** sha256 of the `_v2` file on disk when it was remembered (null: no file was left). */
  output_sha256: string | null;
  /** sha256 of the legacy file the run read (absent in entries older than it): a later change makes the entry stale. */
  source_sha256?: string;
  /** The legacy text and the rewrite's output, kept for a failure that left no `_v2` file. */
  texts?: { source: string; output: string; outputFile: string };
}

const dir = (root: string) => localStateDir(root, 'results');

export interface RunPreview {
  agent: string;
  outputFile: string;
  source: string;
  text: string;
}

/** Remember every result of a run that did not end in a commit; forget the committed ones. */
export function rememberRunResults(
  root: string,
  results: RunResult[],
  meta: { language: (r: RunResult) => Language; profile: (r: RunResult) => string; previews?: RunPreview[] },
): void {
  const d = dir(root);
  if (!d) return;
  const previews = new Map((meta.previews ?? []).map((p) => [p.agent, p]));
  const at = new Date().toISOString();
  for (const r of results) {
    if (!AGENT_FILE_NAME.test(r.agent)) continue;
    const file = path.join(d, `${r.agent}.json`);
    if (r.commit || r.status === 'unchanged' || r.status === 'skipped') {
      rmSync(file, { force: true });
      continue;
    }
    const out = r.output && existsSync(path.join(root, r.output)) ? r.output : null;
    const preview = previews.get(r.agent);
    const entry: RememberedResult = {
      result: r,
      language: meta.language(r),
      profile: meta.profile(r),
      at,
      output_sha256: out ? sha256File(path.join(root, out)) : null,
      ...(existsSync(path.join(root, r.file)) ? { source_sha256: sha256File(path.join(root, r.file)) } : {}),
      ...(!out && preview ? { texts: { source: preview.source, output: preview.text, outputFile: preview.outputFile } } : {}),
    };
    mkdirSync(d, { recursive: true });
    writeFileSync(file, JSON.stringify(entry));
  }
}

/** Every remembered result, by agent. */
export function rememberedResults(root: string): Map<string, RememberedResult> {
  const d = dir(root);
  const out = new Map<string, RememberedResult>();
  if (!d || !existsSync(d)) return out;
  for (const f of readdirSync(d).filter((f) => f.endsWith('.json'))) {
    try {
      const entry = JSON.parse(readFileSync(path.join(d, f), 'utf8')) as RememberedResult;
      if (entry?.result?.agent) out.set(entry.result.agent, entry);
    } catch {
      // a damaged entry is as good as none
    }
  }
  return out;
}

/** The remembered result for the `_v2` file exactly as it is on disk now (null otherwise). */
export function rememberedFor(root: string, agent: string, output: string): RememberedResult | null {
  const d = dir(root);
  if (!d || !AGENT_FILE_NAME.test(agent)) return null;
  let entry: RememberedResult | undefined;
  try {
    entry = JSON.parse(readFileSync(path.join(d, `${agent}.json`), 'utf8')) as RememberedResult;
  } catch {
    return null;
  }
  const abs = path.join(root, output);
  if (!entry || entry.result.output !== output || !existsSync(abs) || entry.output_sha256 !== sha256File(abs)) return null;
  return entry;
}

/** Where the agent's remembered result is kept, relative to the root (null outside git). */
export function rememberedPath(root: string, agent: string): string | null {
  const d = dir(root);
  return d ? path.relative(root, path.join(d, `${agent}.json`)) : null;
}

export function forgetRunResult(root: string, agent: string): void {
  const d = dir(root);
  if (d && AGENT_FILE_NAME.test(agent)) rmSync(path.join(d, `${agent}.json`), { force: true });
}
