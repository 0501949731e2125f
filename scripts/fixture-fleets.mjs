// The Python fixture cases laid out as fleets (repositories) for scripts/hands-off.mjs: the cases
// of one base together, as few repositories as their files allow.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

/** Do a case's own repository files carry a folder named like one of the base's top packages (`common/`)? */
function carriesBasePackage(dir, packages) {
  return readdirSync(dir, { withFileTypes: true }).some((e) => e.isDirectory() && (packages.has(e.name) || carriesBasePackage(path.join(dir, e.name), packages)));
}

/** Every file under `dir`, relative to it, with its bytes. */
function filesUnder(dir, base = dir, out = new Map()) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) filesUnder(p, base, out);
    else out.set(path.relative(base, p), readFileSync(p));
  }
  return out;
}

/**
 * The Python fixture cases written against one base (`model`: the production-like base under
 * fixtures/python/_base; `reference`: the reference BaseAgent, whose cases can run), as the
 * fixture suite lays them out: each case in the first repository where none of its files (its
 * agent, its repo/ files) meets another case's file of other bytes, and one of its own for each
 * case whose files carry a package named like the base's (a local `agents/common/` shadows the base's
 * module for every agent beside it: in the shared repository it failed 39 others). Before, a case
 * overwrote what an earlier one had laid out at the same path (some 50 of them: PriceSyncAgent
 * imported HealthServerMixin from an agents/inventory_sync_agent.py a later case had replaced).
 */
export function pythonFixturesRepos(base, repo) {
  const fixtures = path.join(repo, 'fixtures', 'python');
  const fresh = () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'hands-off-fixtures-'));
    if (base === 'reference') cpSync(path.join(repo, 'templates', 'runtime', 'python', 'common'), path.join(dir, 'common'), { recursive: true });
    else cpSync(path.join(fixtures, '_base'), dir, { recursive: true, filter: (s) => !s.endsWith('README.md') });
    return { dir, laid: filesUnder(dir) };
  };
  const shared = [fresh()];
  const dirs = [shared[0].dir];
  const packages = new Set(readdirSync(shared[0].dir, { withFileTypes: true }).filter((e) => e.isDirectory()).map((e) => e.name));
  for (const { files, own } of fixtureCases(base, repo)) {
    const fits = (r) => [...files].every(([rel, bytes]) => !r.laid.has(rel) || r.laid.get(rel).equals(bytes));
    let target;
    if (own && carriesBasePackage(own, packages)) target = fresh();
    else if (!(target = shared.find(fits))) shared.push((target = fresh()));
    if (!dirs.includes(target.dir)) dirs.push(target.dir);
    for (const [rel, bytes] of files) {
      mkdirSync(path.dirname(path.join(target.dir, rel)), { recursive: true });
      writeFileSync(path.join(target.dir, rel), bytes);
      target.laid.set(rel, bytes);
    }
  }
  return dirs;
}

/**
 * The fixture cases of one base, in name order: each case's files as its repository holds them
 * (its repo/ files, and input.py at the agent's path), by path relative to the repository, and its
 * repo/ folder when it has one.
 */
export function fixtureCases(base, repo) {
  const fixtures = path.join(repo, 'fixtures', 'python');
  const cases = [];
  for (const name of readdirSync(fixtures).sort()) {
    const caseDir = path.join(fixtures, name);
    if (name.startsWith('_') || !existsSync(path.join(caseDir, 'input.py'))) continue;
    const specFile = path.join(caseDir, 'case.yaml');
    const spec = existsSync(specFile) ? YAML.parse(readFileSync(specFile, 'utf8')) ?? {} : {};
    if ((spec.profile ?? 'base-agent') !== 'base-agent' || (spec.base ?? 'model') !== base) continue;
    const own = path.join(caseDir, 'repo');
    const files = existsSync(own) ? filesUnder(own) : new Map();
    files.set(spec.path ?? `agents/${name.replace(/-/g, '_')}.py`, readFileSync(path.join(caseDir, 'input.py')));
    cases.push({ name, files, own: existsSync(own) ? own : undefined });
  }
  return cases;
}
