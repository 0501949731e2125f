// Loading fixtures/python/<case>/ into a temporary repository the way the tool sees a
// real one: the production-like base under common/core/, extra files from repo/, and
// input.py at the path case.yaml names.
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import YAML from 'yaml';

export const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures/python');
export const FIXTURE_BASE = path.join(FIXTURES, '_base');
/** The reference BaseAgent `migrate init` installs (standard library only: its agents can run here). */
export const REFERENCE_BASE = path.resolve(import.meta.dirname, '../../templates/runtime/python');

export interface CaseSpec {
  description?: string;
  path?: string;
  /** Which BaseAgent the repository holds: the production model (default) or the reference base. */
  base?: 'model' | 'reference';
  /** Started for real on the reference base (test/python-runtime-cases.test.ts). */
  runtime?: {
    /** Keys the _v2's GET /health must carry (the legacy health payload's business fields). */
    health_fields?: string[];
    /** /health fields whose value must be the port /health was reached on (a key reporting the health server's bound port). */
    health_port_fields?: string[];
    /** A health field that must grow between two answers (periodic work still running). */
    health_grows?: string;
    /** Ports the _v2 must listen on, and no others: `port`, `health` (the ones it is given), `port+k` (a neighbour of its port) or numbers. */
    listens?: Array<'port' | 'health' | `port+${number}` | number>;
    /**
     * The address a port is bound to (`{health: 0.0.0.0}`), checked for legacy and _v2 alike with AGENT_HOST unset,
     * both run in a network namespace of their own (nothing reaches them from outside it).
     */
    listens_on?: Partial<Record<'port' | 'health', string>>;
    /** Start with these ports instead of free ones (an agent whose port is fixed in code). */
    fixed_ports?: { port?: number; health?: number };
    /**
     * The ports the legacy's code falls back to: the legacy file and the _v2 are each started as their operators
     * start them (no AGENT_PORT, HEALTH_CHECK_PORT, AGENT_HOST), one after the other, and each must answer /health
     * on `health` and stay up (python-runtime-cases, second part): a _v2 that runs only because the environment moved
     * its ports fails. Ports no other case uses (that file runs beside the other runtime files).
     */
    legacy_defaults?: { port?: number; health: number };
    /** Files (relative to the repository) the business teardown writes on SIGTERM. */
    sigterm_writes?: string[];
    /** Files (from the repository root) and a text each must hold once the stop signal has ended the agent. */
    sigterm_file_contains?: Record<string, string>;
    /** The signal that stops it (default SIGTERM): SIGINT for a teardown the legacy ran on Ctrl-C. */
    stop_signal?: 'SIGTERM' | 'SIGINT';
    /** Lines the agent logs exactly once (business teardown run once). */
    log_once?: string[];
    /** Lines the agent logs while it runs (work done after start). */
    /** Lines the _v2's output must hold; `{health}` is the health port it was given, `{port}` (`{port+k}`) its port (a neighbour). */
    log_contains?: string[];
    /** path -> the status the _v2's health port answers GET <path> with (`/ping: 404`: a legacy alias route the base does not serve). */
    answers?: Record<string, number>;
    /** GET paths the legacy's health server answered that the _v2 must answer alike (status, content type, body): python-extra-routes-runtime starts both. */
    legacy_routes?: string[];
    /**
     * The port (fixed in the legacy's code) its legacy_routes were served on by a business server of their own: legacy
     * and _v2 both run with HEALTH_CHECK_PORT set elsewhere, and the _v2 must answer them alike on that port.
     */
    kept_routes_port?: number;
    /** Texts the _v2's GET /metrics on its health port must carry (the legacy /metrics samples). */
    metrics_contains?: string[];
    /**
     * Texts one and the same push to the metrics sink must carry together (METRICS_URL given, pushes every
     * second): the base's samples and the agent's own land in one Pushgateway group, whose PUT replaces it.
     */
    pushed_metrics_contain?: string[];
    /** Texts one push to the metrics sink (METRICS_URL given) must carry together once the stop signal ended the agent: its teardown's samples in the base's last push. */
    pushed_at_stop_contain?: string[];
    /** With a registry stand-in at REGISTRY_URL: the agent POSTs /register exactly once, with a record holding these fields and values. */
    registered_once_with?: Record<string, unknown>;
    /** With registered_once_with: on the stop signal the agent deregisters (one POST /deregister naming it) before it exits. */
    deregisters?: boolean;
    /**
     * With registered_once_with: REGISTRY_URL stays unset and the registry stand-in listens on this fixed
     * loopback port, the legacy's default registry (the registration must still reach it).
     */
    registry_default_port?: number;
  };
  scan?: { status: 'legacy' | 'migrated' | 'skipped'; class?: string; reason_contains?: string };
  expect?: {
    removed?: string[];
    kept?: string[];
    /** Texts the output must not contain (set-up statements of a local, which `removed` cannot name). */
    /** Text the output must hold (beside expected.py: says which part of it the case is about). */
    output_contains?: string[];
    output_lacks?: string[];
    kept_for_review?: string[];
    /** Each text must appear in the reason of one of the result's review items (what the person is told). */
    review_contains?: string[];
    /** The rewrite refused its own output (migrate run writes no _v2): a text of why (RewriteOutcome.unstartable.because). */
    unstartable?: string;
    /** Resolved hazards: each text must appear in one of the result's warnings. */
    warnings_contain?: string[];
    /** Warnings a reviewer would read as fact that must not be said (a protocol change that did not happen). */
    warnings_absent?: string[];
    error_contains?: string;
    error_line?: number;
    /** The rewrite itself refuses the agent (a port clash): its one-line error, and no expected.py. */
    rewrite_error_contains?: string;
    /** Further parts of that error: what a person must do about the refusal. */
    rewrite_error_also_contains?: string[];
    rewrite_error_line?: number;
  };
}

export interface FixtureCase {
  name: string;
  dir: string;
  spec: CaseSpec;
  /** Path of the input inside the temporary repository. */
  rel: string;
  expectedFile: string;
}

export function listCases(): FixtureCase[] {
  return readdirSync(FIXTURES, { withFileTypes: true })
    .filter((d) => d.isDirectory() && !d.name.startsWith('_') && existsSync(path.join(FIXTURES, d.name, 'input.py')))
    .map((d) => {
      const dir = path.join(FIXTURES, d.name);
      const specFile = path.join(dir, 'case.yaml');
      const spec: CaseSpec = existsSync(specFile) ? YAML.parse(readFileSync(specFile, 'utf8')) ?? {} : {};
      return { name: d.name, dir, spec, rel: spec.path ?? `agents/${d.name.replace(/-/g, '_')}.py`, expectedFile: path.join(dir, 'expected.py') };
    })
    .sort((a, b) => a.name.localeCompare(b.name));
}

/** A fresh repository holding the fixture base, the case's extra files and its input. */
export function materialize(c: FixtureCase, into?: string): string {
  const root = into ?? mkdtempSync(path.join(os.tmpdir(), `migrate-fx-${c.name}-`));
  if (c.spec.base === 'reference') cpSync(path.join(REFERENCE_BASE, 'common'), path.join(root, 'common'), { recursive: true });
  else cpSync(FIXTURE_BASE, root, { recursive: true, filter: (src) => !src.endsWith('README.md') });
  writeCaseFiles(c.dir, root, c.rel);
  return root;
}

/** A case's own files into `root`: its extra files (the case's repo/ folder), then its input.py at `rel`. */
export function writeCaseFiles(caseDir: string, root: string, rel: string): void {
  const extra = path.join(caseDir, 'repo');
  if (existsSync(extra)) cpSync(extra, root, { recursive: true });
  const dest = path.join(root, rel);
  mkdirSync(path.dirname(dest), { recursive: true });
  writeFileSync(dest, readFileSync(path.join(caseDir, 'input.py')));
}

/** Every case in one repository (for CLI tests of scan and run --all); they must share one base. */
export function materializeAll(cases: FixtureCase[]): string {
  const root = mkdtempSync(path.join(os.tmpdir(), 'migrate-fx-all-'));
  if (new Set(cases.map((c) => c.spec.base ?? 'model')).size > 1) throw new Error('materializeAll: cases on different bases cannot share a repository');
  for (const c of cases) materialize(c, root);
  return root;
}
