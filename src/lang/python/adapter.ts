// The Python language adapter: tree-sitter scan and rewrite, batch verification
// (parse, py_compile in one process, idempotency) and the default launch command.
import path from 'node:path';
import type { LanguageAdapter, VerifyError } from '../../pipeline/language.js';
import { scanPython } from '../../discover/python-scan.js';
import { loadBaseModel } from '../../analysis/base-model.js';
import { rewritePython } from './rewrite.js';
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
    return rewritePython({
      file: req.agent.file,
      source: req.source,
      className: req.agent.class,
      profile: req.profile,
      base: loadBaseModel(req.root, py, req.profile.base_class),
    });
  },

  async verify(reqs) {
    const errors: VerifyError[] = reqs.map((r) => {
      const rel = path.relative(r.root, r.outputFile).split(path.sep).join('/');
      // The second run parses the output strictly: a syntax error in it fails here too.
      const py = r.profile.python!;
      const again = rewritePython({
        file: rel,
        source: r.output,
        className: r.agent.class,
        profile: r.profile,
        base: loadBaseModel(r.root, py, r.profile.base_class),
      });
      if (again.status === 'failed') return `${rel}: second run failed: ${again.error}`;
      if (again.output !== r.output) {
        const line = firstDifferentLine(r.output, again.output ?? '');
        return `${rel}:${line}: not idempotent: running the transforms on the output changes it`;
      }
      return null;
    });
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

function firstDifferentLine(a: string, b: string): number {
  const la = a.split('\n');
  const lb = b.split('\n');
  for (let i = 0; i < Math.max(la.length, lb.length); i++) if (la[i] !== lb[i]) return i + 1;
  return 1;
}
