// The Python language adapter: tree-sitter scan and rewrite, batch verification
// (parse, py_compile in one process, idempotency) and the default launch command.
import path from 'node:path';
import type { LanguageAdapter, VerifyError } from '../../pipeline/language.js';
import { scanPython } from '../../discover/python-scan.js';
import { loadBaseModel } from '../../analysis/base-model.js';
import { rewritePython, rewritePythonTrees } from './rewrite.js';
import type { Tree } from './parser.js';
import type { Profile } from '../../profile/profile.js';
import { pyCompileAll } from './py-compile.js';
import { encodePythonOutput } from './encoding.js';
import { UsageError } from '../../core/errors.js';
import { pythonLaunch } from '../../validate/python-launch.js';

export const pythonAdapter: LanguageAdapter = {
  language: 'python',
  extensions: ['.py'],

  async scan(root, files, profile) {
    const { agents, skipped } = await scanPython(root, files, profile);
    return { agents, skipped };
  },

  async rewrite(req) {
    const py = req.profile.python;
    if (!py) throw new UsageError(`profile ${req.profile.name} has no python section`);
    const { outcome, outputTree } = rewritePythonTrees({
      file: req.agent.file,
      source: req.source,
      className: req.agent.class,
      profile: req.profile,
      base: loadBaseModel(req.root, py, req.profile.base_class),
    });
    if (req.checkIdempotencyAs !== undefined && outcome.status === 'changed' && outputTree) {
      outcome.idempotency = secondRun(req.checkIdempotencyAs, outcome.output!, req.root, req.agent.class, req.profile, outputTree);
    }
    return outcome;
  },

  async verify(reqs) {
    const errors: VerifyError[] = reqs.map((r) =>
      r.idempotency !== undefined ? r.idempotency : secondRun(path.relative(r.root, r.outputFile).split(path.sep).join('/'), r.output, r.root, r.agent.class, r.profile),
    );
    const pending = reqs
      .map((r, i) => ({ i, name: path.relative(r.root, r.outputFile).split(path.sep).join('/'), text: r.output, bytes: r.bytes }))
      .filter((x) => errors[x.i] === null);
    const compiled = await pyCompileAll(pending);
    pending.forEach((p, k) => {
      errors[p.i] = compiled[k] ?? null;
    });
    return errors;
  },

  outputPath(file) {
    return file.replace(/\.py$/, '_v2.py');
  },

  encode: encodePythonOutput,

  launch: pythonLaunch,
};

/**
 * Verification's idempotency pass: the transforms run on the output (`rel`, its path from the
 * root) must change nothing. Given the output's tree (parsed cleanly by the rewrite), it is
 * not parsed again; without one, the output is parsed strictly, so a syntax error fails here.
 */
function secondRun(rel: string, output: string, root: string, className: string, profile: Profile, tree?: Tree): VerifyError {
  const again = rewritePython({ file: rel, source: output, className, profile, base: loadBaseModel(root, profile.python!, profile.base_class), tree });
  if (again.status === 'failed') return `${rel}: second run failed: ${again.error}`;
  if (again.output !== output) {
    const line = firstDifferentLine(output, again.output ?? '');
    return `${rel}:${line}: not idempotent: running the transforms on the output changes it`;
  }
  return null;
}

function firstDifferentLine(a: string, b: string): number {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) if (la[i] !== lb[i]) return i + 1;
  return 1;
}
