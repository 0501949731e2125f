// Which files a scan reads: those git would track (tracked and untracked, minus
// .gitignore), or, outside a git work tree, a walk that honours .gitignore files.
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import ignore from 'ignore';

// coverage/ and bower_components/ hold generated or vendored JavaScript (istanbul reports, old front-end deps).
const ALWAYS_SKIPPED = /(^|\/)(node_modules|\.git|__pycache__|\.venv|venv|\.tox|dist|migration-log|\.migrate|coverage|bower_components)(\/|$)/;

export function listSourceFiles(root: string, extensions: string[]): string[] {
  const wanted = (f: string) => extensions.some((e) => f.endsWith(e)) && !ALWAYS_SKIPPED.test(f);
  const fromGit = gitFiles(root);
  const rel = fromGit ?? walk(root);
  return rel.filter(wanted).sort().map((f) => path.join(root, f));
}

function gitFiles(root: string): string[] | null {
  try {
    const out = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard', '--', '.'], {
      cwd: root,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'ignore'],
      maxBuffer: 256 * 1024 * 1024,
    });
    return out.split('\0').filter((f) => f && existsSync(path.join(root, f)));
  } catch {
    return null;
  }
}

function walk(root: string): string[] {
  const out: string[] = [];
  const visit = (dir: string, rules: Array<{ base: string; ig: ReturnType<typeof ignore> }>) => {
    const gi = path.join(dir, '.gitignore');
    const here = existsSync(gi) ? [...rules, { base: dir, ig: ignore().add(readFileSync(gi, 'utf8')) }] : rules;
    for (const name of readdirSync(dir).sort()) {
      const abs = path.join(dir, name);
      const rel = path.relative(root, abs).split(path.sep).join('/');
      if (ALWAYS_SKIPPED.test(rel)) continue;
      let st;
      try {
        st = statSync(abs);
      } catch {
        continue;
      }
      const isDir = st.isDirectory();
      const ignored = here.some(({ base, ig }) => {
        const r = path.relative(base, abs).split(path.sep).join('/');
        return ig.ignores(isDir ? `${r}/` : r);
      });
      if (ignored) continue;
      if (isDir) visit(abs, here);
      else out.push(rel);
    }
  };
  visit(root, []);
  return out;
}
