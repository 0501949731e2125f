// Users' own jscodeshift-format transforms, applied after the profile's to TypeScript and
// JavaScript agents; their result goes through the same verify, validation and commit.
import type { AgentInfo, RunResult } from '../core/types.js';
import { applyUserTransforms } from './user-transform.js';
import { oneLine } from '../core/errors.js';
import path from 'node:path';

export async function applyUserTransformsStage(
  root: string,
  transforms: string[],
  items: Array<{ agent: AgentInfo; abs: string; output?: string; result: RunResult }>,
): Promise<void> {
  const files = transforms.map((t) => path.resolve(root, t));
  for (const i of items) {
    if (i.agent.language !== 'typescript' || i.output === undefined) continue;
    try {
      i.output = await applyUserTransforms(files, { path: i.abs, source: i.output });
    } catch (err) {
      i.result = { ...i.result, status: 'failed', output: null, error: `transform: ${oneLine(err)}` };
      i.output = undefined;
    }
  }
}
