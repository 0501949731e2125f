// Patches of a dry run: each agent's `_v2` as a new-file diff that `git apply` accepts
// (paths from the top of the work tree, the legacy file's mode), and the original → `_v2`
// diff each `--dry-run --json` result carries.
import { statSync } from 'node:fs';
import path from 'node:path';
import { createTwoFilesPatch } from 'diff';
import type { RunResult } from '../core/types.js';
import { revParseFact } from '../record/repo-facts.js';
import type { RunPreview } from '../record/run-results.js';

/** Where root sits in its git work tree ('' at the top, or outside git). */
function gitPrefix(root: string): string {
  return revParseFact(root, ['--show-prefix'])?.trim() ?? '';
}

/** The previews of results that would write a `_v2` (migrated or needs-review), in result order. */
export function writtenPreviews(results: RunResult[], previews: RunPreview[]): Array<{ result: RunResult; preview: RunPreview }> {
  const byAgent = new Map(previews.map((p) => [p.agent, p]));
  return results
    .filter((r) => r.status === 'migrated' || r.status === 'needs-review')
    .map((result) => ({ result, preview: byAgent.get(result.agent)! }))
    .filter((x) => x.preview);
}

export function newFilePatch(root: string, results: RunResult[], previews: RunPreview[]): string {
  const prefix = gitPrefix(root);
  const parts: string[] = [];
  for (const { result, preview } of writtenPreviews(results, previews)) {
    const target = `${prefix}${preview.outputFile}`;
    let mode = '100644';
    try {
      if (statSync(path.join(root, result.file)).mode & 0o111) mode = '100755';
    } catch {
      // the legacy file is gone: a plain file
    }
    const body = createTwoFilesPatch('/dev/null', `b/${target}`, '', preview.text, undefined, undefined, { context: 0 })
      .split('\n')
      .filter((l, i) => !(i === 0 && /^=+$/.test(l)));
    parts.push([`diff --git a/${target} b/${target}`, `new file mode ${mode}`, ...body].join('\n').replace(/\n*$/, '\n'));
  }
  return parts.join('');
}

/** Original → `_v2` unified diff per agent (as `migrate diff` prints it). */
export function diffsByAgent(results: RunResult[], previews: RunPreview[]): Map<string, string> {
  return new Map(
    writtenPreviews(results, previews).map(({ result, preview }) => [
      result.agent,
      createTwoFilesPatch(result.file, preview.outputFile, preview.source, preview.text),
    ]),
  );
}
