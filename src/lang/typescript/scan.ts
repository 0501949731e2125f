// Discover TypeScript agents: classes classified as legacy, migrated (reaching the base
// directly or through parents, resolved with the type checker across files, re-exports and
// import aliases) or not an agent (skipped, with the reason). The agent of a file is picked
// by evidence — constructed in the entry point, serves HTTP, runs a loop, handles signals —
// never by position or name alone.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { Node, Project, SyntaxKind, ts, type CallExpression, type SourceFile } from 'ts-morph';
import type { AgentInfo, Finding, ScanResult, SkippedFile } from '../../core/types.js';
import { rebaseProfiles, type Profile } from '../../profile/profile.js';
import { throwIfInterrupted } from '../../core/errors.js';
import { findEntry } from '../../../transforms/typescript/entrypoint.js';
import { isHealthHelperClass } from '../../../transforms/typescript/health-helper-server.js';
import {
  BASE_PATHS,
  HEALTH_METHOD,
  healthRoutes,
  promClientUses,
  rearmingTimeouts,
  recursiveRetry,
  expressRoutes,
  foreverLoops,
  intervalCalls,
  looksLikeRetry,
  pushKind,
  QUEUE_NAME,
  RETRY_NAME,
  routesIn,
  serverCreations,
  signalStatements,
} from './patterns.js';
import { calleeText, descendantsOfKind, descendantsOfKinds, fileClasses, kindTest, lastName, isFunctionValue, memberName, thisMembers, type ClassLike, type FileClass } from './syntax.js';
import { prototypeToClass } from './prototype-class.js';
import { closureFactoryService, factoryOnBaseIn, factoryRefusal } from './closure-factory.js';
import { closureFactoryToAgent } from '../../../transforms/typescript/closure-factory-agent.js';
import { registrationRecordHook } from './base-model.js';
import { prototypeUsedAsFunction, referenceSearchFiles } from './references.js';
import { compilerOptionsFor, shareLibraryDeclarations, typeRoots } from './project.js';
import { hasAgentInfrastructure } from './family.js';
import { count, counting } from '../../core/counters.js';
import { isV2, legacyPath, nestedTsconfig, TS_EXTENSIONS, v2Path } from './paths.js';

export { TS_EXTENSIONS, isV2, v2Path, legacyPath } from './paths.js';

// Prototype-style services are classified as the class the rewrite writes them as.
const protoProject = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } });

function isJs(file: string): boolean {
  return /\.(js|cjs|mjs)$/.test(file);
}

/** Why a JavaScript file is build output rather than source, or null. */
function compiledOutput(file: string, cfg: ReturnType<typeof tsconfigFiles>): string | null {
  if (/\.min\.(c|m)?js$/.test(file)) return 'minified bundle';
  const outDir = cfg?.options.outDir;
  if (outDir && path.resolve(file).startsWith(path.resolve(outDir) + path.sep)) return 'compiled output (tsconfig outDir)';
  const stem = file.replace(/\.(js|cjs|mjs)$/, '');
  for (const ext of ['.ts', '.tsx', '.mts', '.cts']) if (existsSync(stem + ext)) return `compiled output of ${path.basename(stem + ext)}`;
  return null;
}

/** tsc/babel output starts by marking itself an ES module for CommonJS interop. */
function looksCompiled(text: string): boolean {
  return /Object\.defineProperty\(exports, ["']__esModule["']|\bexports\.__esModule\s*=\s*true|^var __(awaiter|createBinding|importDefault|importStar)\b/m.test(text.slice(0, 3000));
}

// Globals only a page has: a script reading them runs in a browser tab.
const DOM_GLOBALS = new Set(['document', 'window', 'localStorage', 'sessionStorage', 'navigator', 'customElements', 'requestAnimationFrame', 'HTMLElement']);
// What only a Node module can reach: its module system and its process.
const NODE_GLOBALS = new Set(['process', 'require', 'module', 'exports', '__dirname', '__filename', 'Buffer', 'global']);

/**
 * A script that runs in a page (a dashboard's static/app.js): it reads DOM globals (`document`,
 * `window`, ...) and imports nothing, requires nothing and never touches `process`, `module` or
 * another Node global, so no Node process can start it as a service. The first DOM use, or null.
 * Only free names count (not `this.document`, `{ window }` keys or a local of that name), and
 * `fetch`, `setInterval` or `AbortController` say nothing: Node services use them too.
 */
function browserScript(sf: SourceFile): { reason: string; line: number } | null {
  const text = sf.getFullText();
  if (!/\b(document|window|localStorage|sessionStorage|navigator|customElements|requestAnimationFrame|HTMLElement)\b/.test(text)) return null;
  if (sf.getImportDeclarations().length > 0 || sf.getExportDeclarations().some((d) => d.getModuleSpecifier()) || sf.getStatements().some((s) => Node.isImportEqualsDeclaration(s))) return null;
  if (/\bimport\s*\(/.test(text)) return null;
  const declared = new Set<string>();
  for (const d of sf.getDescendants()) {
    if (Node.isVariableDeclaration(d) || Node.isParameterDeclaration(d) || Node.isFunctionDeclaration(d) || Node.isClassDeclaration(d)) {
      const n = d.getNameNode();
      if (n && Node.isIdentifier(n)) declared.add(n.getText());
    }
  }
  let first: Node | null = null;
  for (const id of sf.getDescendantsOfKind(SyntaxKind.Identifier)) {
    const name = id.getText();
    const dom = DOM_GLOBALS.has(name);
    if (!dom && !NODE_GLOBALS.has(name)) continue;
    if (declared.has(name)) continue;
    const p = id.getParent();
    // `x.document`, `{ window: 1 }`, `obj.window()` declarations and type names are not the global.
    if ((Node.isPropertyAccessExpression(p) && p.getNameNode() === id) || (Node.isPropertyAssignment(p) && p.getNameNode() === id)) continue;
    if (Node.isMethodDeclaration(p) || Node.isPropertyDeclaration(p) || Node.isTypeReference(p)) continue;
    if (!dom) return null;
    first ??= id;
  }
  if (!first) return null;
  return {
    reason: `browser script: reads ${first.getText()} (line ${first.getStartLineNumber()}), a page's global, and imports no module nor uses process/require: it runs in a page, not as a Node service`,
    line: first.getStartLineNumber(),
  };
}

function rel(root: string, file: string): string {
  return path.relative(root, file).split(path.sep).join('/');
}

/** Files tsconfig.json includes (absolute), or null when the root has no tsconfig. */
export function tsconfigFiles(root: string): { files: Set<string>; options: ts.CompilerOptions } | null {
  const cfgPath = path.join(root, 'tsconfig.json');
  if (!existsSync(cfgPath)) return null;
  const read = ts.readConfigFile(cfgPath, ts.sys.readFile);
  if (read.error) return null;
  const parsed = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
  return { files: new Set(parsed.fileNames.map((f) => path.resolve(f))), options: parsed.options };
}

/**
 * Whether a tsconfig.json nearer the file than the root's (a sub-project's own, `scheduler/tsconfig.json`
 * beside a root one excluding `scheduler/**`) includes it: that project builds it, so the root's exclude
 * does not speak for it. `cache` holds each nested tsconfig's files (null: unreadable).
 */
function nestedProjectHolds(root: string, file: string, cache: Map<string, Set<string> | null>, dirs: Map<string, string | null>): boolean {
  const cfgPath = nestedTsconfig(root, file, dirs);
  if (!cfgPath) return false;
  if (!cache.has(cfgPath)) {
    const read = ts.readConfigFile(cfgPath, ts.sys.readFile);
    cache.set(cfgPath, read.error ? null : new Set(ts.parseJsonConfigFileContent(read.config, ts.sys, path.dirname(cfgPath)).fileNames.map((n) => path.resolve(n))));
  }
  // The nearest one governs the file, whatever it says.
  return cache.get(cfgPath)?.has(path.resolve(file)) ?? false;
}

/** Files a project of the scan holds at most before it is let go (about 1.5 MB of heap each, parsed and wrapped). */
const FILES_PER_PROJECT = 16;

/**
 * Classify TypeScript and JavaScript files. It gives the event loop a turn between files: the
 * run scans the languages at once, and Python's reader threads get their next files through it.
 * `dependencies`, when given, receives the other files the type checker read (for the scan cache).
 */
export async function scanTypeScript(root: string, files: string[], profile: Profile, dependencies?: string[], signal?: AbortSignal): Promise<ScanResult> {
  // Ctrl-C is looked at between files (each `turn` lets the handler run): the scan stops there.
  const turn = async () => {
    await nextTurn();
    throwIfInterrupted(signal);
  };
  const agents: AgentInfo[] = [];
  const skipped: SkippedFile[] = [];
  const cfg = tsconfigFiles(root);
  const nested = new Map<string, Set<string> | null>();
  const nestedDirs = new Map<string, string | null>();
  const candidates: string[] = [];
  for (const f of [...files].sort()) {
    const r = rel(root, f);
    if (/\.d\.(m|c)?ts$/.test(f)) skipped.push({ file: r, reason: 'type declarations (.d.ts)' });
    else if (!TS_EXTENSIONS.some((e) => f.endsWith(e))) continue;
    else if (isJs(f) && compiledOutput(f, cfg)) skipped.push({ file: r, reason: compiledOutput(f, cfg)! });
    // A tsconfig speaks for JavaScript only when it lets JavaScript in (allowJs).
    else if (cfg && (!isJs(f) || cfg.options.allowJs) && !cfg.files.has(path.resolve(f)) && !nestedProjectHolds(root, f, nested, nestedDirs)) skipped.push({ file: r, reason: 'excluded by tsconfig.json' });
    else if (/(\.|_)(test|spec)\.(ts|tsx|mts|cts|js|cjs|mjs)$/.test(f) || /(^|\/)(__tests__|test|tests)\//.test(r)) skipped.push({ file: r, reason: 'test file' });
    else candidates.push(f);
  }
  if (candidates.length === 0) return { agents, skipped };
  const newProject = () => {
    const project = new Project({
      compilerOptions: { ...compilerOptionsFor(root), ...(cfg?.options ?? {}), noEmit: true, allowJs: true, checkJs: false, typeRoots: typeRoots(), types: ['node'] },
      skipAddingFilesFromTsConfig: true,
    });
    // The checker that resolves base classes reads @types/node and the lib files: parsed once per
    // process (as the rewrite and verify do), not again at every scan (validate scans each time).
    shareLibraryDeclarations(project);
    return project;
  };
  const present = new Set(candidates.map((f) => path.resolve(f)));
  const outputs = new Map<string, AgentInfo>();
  let protoChecked = false;
  const take = (v: FileVerdict) => {
    if ('skip' in v) skipped.push(v.skip);
    else if (v.outputOf) outputs.set(v.outputOf, v.agent);
    else agents.push(v.agent);
    if (v.protoChecked) protoChecked = true;
  };
  // Memory flat in the number of TypeScript files: each file is parsed, classified and let go
  // (a file's compiler tree is about 40 times its text, and the scan held every one of them to
  // its end: 0.45 GB of heap at 300 agents, a quarter of its CPU in the garbage collector). A
  // verdict read from the file's syntax alone is the same whatever else the project holds; one
  // that asked the type checker saw a program of that file alone, not of every file as before,
  // so from that file on the scan goes as it went: one project holding every file, in order.
  // The files are let go with their project, a new one every FILES_PER_PROJECT files: removing a
  // file from a project has ts-morph walk (and wrap) all its nodes to forget them, which cost
  // more than the classification.
  let project = newProject();
  let k = 0;
  for (; k < candidates.length; k++) {
    if (k % FILES_PER_PROJECT === 0) project = newProject();
    const sf = project.addSourceFileAtPath(candidates[k]!);
    await turn();
    await turn();
    const verdict = classifySource(sf, profile, root, present);
    if (programBuilt(project)) break;
    take(verdict);
  }
  if (counting) count('ts scan files classified apart', k);
  if (k < candidates.length) {
    if (counting) count('ts scan files classified in one project (the type checker was asked)', candidates.length - k);
    project = newProject();
    const sources: SourceFile[] = [];
    for (const f of candidates) {
      sources.push(project.addSourceFileAtPath(f));
      await turn();
    }
    for (const sf of sources.slice(k)) {
      await turn();
      take(classifySource(sf, profile, root, present));
    }
  }
  for (const a of agents) {
    const abs = path.resolve(root, a.file);
    if (outputs.has(abs) || existsSync(v2Path(abs))) a.output = rel(root, v2Path(abs));
  }
  if (dependencies) {
    const handedIn = new Set(files.map((f) => path.resolve(f)));
    dependencies.push(...checkerReads(project, handedIn));
    // The search for a prototype's users reads every source file, ignored ones too.
    if (protoChecked) dependencies.push(...referenceSearchFiles(root).map((f) => path.resolve(f)).filter((f) => !handedIn.has(f)));
  }
  return { agents, skipped };
}

type FileVerdict = ({ skip: SkippedFile } | { agent: AgentInfo; outputOf?: string }) & { protoChecked?: boolean };

/** One file's place in the scan: skipped (why), an agent, or the `_v2` output of a legacy file also scanned (`outputOf`). */
function classifySource(sf: SourceFile, profile: Profile, root: string, present: Set<string>): FileVerdict {
  const file = sf.getFilePath();
  const r = rel(root, file);
  if (isJs(file) && looksCompiled(sf.getFullText())) return { skip: { file: r, reason: 'compiled output (tsc/babel CommonJS interop)' } };
  const browser = browserScript(sf);
  if (browser) return { skip: { file: r, reason: browser.reason, line: browser.line } };
  const result = classifyFile(sf, profile, r, root);
  if ('reason' in result) return { skip: { file: r, reason: result.reason } };
  if (isV2(file)) {
    const legacy = legacyPath(file);
    if (result.status !== 'migrated') return { skip: { file: r, reason: 'migration output (_v2) that does not reach the base' } };
    if (present.has(path.resolve(legacy))) return { agent: result, outputOf: path.resolve(legacy) };
  }
  // A prototype-style service that other files call as a function stays a function: the run skips it, so does the scan.
  if (result.evidence[0]?.startsWith('prototype-style constructor function')) {
    const usedAsFunction = prototypeUsedAsFunction(root, file, result.class);
    if (usedAsFunction) return { skip: { file: r, reason: usedAsFunction, line: result.line }, protoChecked: true };
    return { agent: result, protoChecked: true };
  }
  return { agent: result };
}

/**
 * The files the type checker read besides those handed in (lib, @types, packages, files outside
 * the scan), or none when it was never built: then every verdict came from its own file's syntax.
 */
function checkerReads(project: Project, handedIn: Set<string>): string[] {
  if (!programBuilt(project)) return [];
  const compiler = project.getProgram().compilerObject;
  // The default lib files come with ts-morph (served from memory, not disk): its version is part of the cache's key.
  return compiler
    .getSourceFiles()
    .filter((sf) => !compiler.isSourceFileDefaultLibrary(sf))
    .map((sf) => path.resolve(sf.fileName))
    .filter((f) => !handedIn.has(f));
}

/** Has anything asked the type checker (or the program) of this project? ts-morph builds the compiler's program on first use; a version without this says nothing, so it is built. */
function programBuilt(project: Project): boolean {
  return (project.getProgram() as unknown as { _isCompilerProgramCreated?: () => boolean })._isCompilerProgramCreated?.() ?? true;
}

const nextTurn = () => new Promise<void>((resolve) => setImmediate(resolve));

interface Scored {
  cls: ClassLike;
  name: string | null;
  score: number;
  evidence: string[];
  migrated: boolean;
}

function classifyFile(sf: SourceFile, profile: Profile, r: string, root?: string): AgentInfo | { reason: string } {
  const classes = fileClasses(sf);
  if (classes.length === 0) {
    const typeOnly = sf.getStatements().every((s) => Node.isInterfaceDeclaration(s) || Node.isTypeAliasDeclaration(s) || Node.isImportDeclaration(s) || (Node.isExportDeclaration(s) && s.isTypeOnly()));
    if (typeOnly) return { reason: 'type-only file (interfaces and types)' };
    const proto = prototypeToClass(sf);
    if (!proto) return closureFactoryAgent(sf, profile, r, root) ?? { reason: 'no class (helper module)' };
    if ('refuse' in proto) return { reason: proto.refuse };
    // Written as the class it is, it is classified as one (the rewrite converts it the same way).
    const asClass = protoProject.createSourceFile(`/proto${path.extname(sf.getFilePath())}`, proto.text, { overwrite: true });
    const info = classifyFile(asClass, profile, r, root);
    if ('reason' in info) return info;
    return { ...info, evidence: [`prototype-style constructor function ${proto.name}: converted to a class by the rewrite`, ...info.evidence] };
  }
  if (classes.some((c) => c.name === profile.base_class)) return { reason: `defines ${profile.base_class} itself` };
  const searches = new Searches();
  const scored: Scored[] = classes.map((c) => score(sf, c, profile, searches));
  let candidates = scored.filter((s) => s.score >= 2 && hasMethods(s.cls));
  // The older base a base-to-base profile maps (its class, in a module that profile names): its
  // subclasses move onto the new base themselves, so it is not an agent even with a loop of its own.
  const old = candidates.map((c) => ({ c, p: mappedOldBase(c.name, r, profile, root) })).filter((x) => x.p);
  if (old.length > 0) {
    candidates = candidates.filter((c) => !old.some((o) => o.c === c));
    if (candidates.length === 0) return { reason: `the old ${old[0]!.c.name} that the ${old[0]!.p} profile maps onto ${profile.base_class}: its subclasses are the agents` };
  }
  // A class that only serves /health from a port and a status function given to its constructor,
  // constructed by nothing in its own file, is the health helper of the agents that construct it.
  const helpers = candidates.filter((c) => c.name && !c.migrated && !c.evidence.some((e) => e.startsWith('constructed')) && isHealthHelperClass(sf.getFullText(), c.name));
  if (helpers.length > 0) {
    candidates = candidates.filter((c) => !helpers.includes(c));
    if (candidates.length === 0) return { reason: `${helpers[0]!.name} is a health server helper (constructed with a port and a status function, serves only /health): the agents that construct it move onto the base's /health` };
  }
  if (candidates.length === 0) {
    const library = scored.find((c) => c.evidence.includes('builds an HTTP server and returns it to its caller'));
    if (library) return { reason: `no agent: ${library.name ?? 'default'} builds an HTTP server and returns it to its caller, who keeps and closes it (a server library)` };
    const names = classes.map((c) => c.name ?? 'default').join(', ');
    return { reason: `no agent: ${names} ${classes.length === 1 ? 'has' : 'have'} no entry point, server, loop or signal handler (helpers or records)` };
  }
  candidates.sort((a, b) => b.score - a.score || Number(b.migrated) - Number(a.migrated));
  const best = candidates[0]!;
  const name = best.name;
  if (!name) return { reason: 'the agent class is anonymous (export default class { ... }): give it a name' };
  return {
    name,
    file: r,
    language: 'typescript',
    class: name,
    status: best.migrated ? 'migrated' : 'legacy',
    findings: findings(sf, best.cls, searches),
    line: best.cls.getStartLineNumber(),
    evidence: best.evidence,
    ...healthPathsOf(best.cls),
  };
}

/**
 * A closure-factory service: its agent, named by the factory, when the rewrite moves it onto the
 * base (or its class on the base is declared in the factory already: migrated); else why not.
 */
function closureFactoryAgent(sf: SourceFile, profile: Profile, r: string, root?: string): AgentInfo | { reason: string } | null {
  const agent = (name: string, line: number, status: AgentInfo['status'], evidence: string): AgentInfo => ({ name, file: r, language: 'typescript', class: name, status, findings: [], line, evidence: [evidence] });
  const onBase = factoryOnBaseIn(sf, profile.base_class);
  if (onBase) return agent(onBase.name, onBase.line, 'migrated', `closure factory ${onBase.name} declares a class extending ${profile.base_class}`);
  const file = root ? path.join(root, r) : undefined;
  const factory = closureFactoryService(sf, root, file);
  if (!factory) return null;
  const conversion = closureFactoryToAgent(sf, factory.name, profile.base_class, '', registrationRecordHook(root, profile));
  if ('refuse' in conversion) return { reason: factoryRefusal(sf, factory.name, conversion.refuse, root, file) };
  return agent(factory.name, factory.line, 'legacy', `closure factory ${factory.name}: the rewrite declares its service as a class extending ${profile.base_class} inside it`);
}

/**
 * The paths the agent's own health server answers, when it serves only paths the base stands in
 * for (`/live`, `/ping`, `/healthz`: the server the rewrite removes, the base serving /health on
 * HEALTH_CHECK_PORT instead). The validator asks the running legacy agent's ports these paths to
 * tell its health port from a business port: a legacy answering /health alone needs none of it.
 */
function healthPathsOf(cls: ClassLike): Pick<AgentInfo, 'health_paths'> {
  const paths = new Set<string>();
  const bodyOf = (m: Node) => (Node.isMethodDeclaration(m) || Node.isConstructorDeclaration(m) ? m.getBody() : Node.isPropertyDeclaration(m) ? m.getInitializer() : undefined);
  for (const m of cls.getMembers()) {
    const body = bodyOf(m);
    for (const s of body ? serverCreations(body) : []) {
      // Its callback's paths, and those of the agent's methods it hands requests to (`(req, res) => this.onProbe(req, res)`).
      const handlers = [...thisMembers(s)].flatMap((n) => cls.getMembers().filter((h) => Node.isMethodDeclaration(h) && h.getName() === n));
      const routes = [...new Set([s, ...handlers.map(bodyOf).filter((b): b is Node => !!b)].flatMap((n) => [...routesIn(n)]))];
      if (routes.length && routes.every((r) => BASE_PATHS.has(r) && r !== '/metrics')) for (const r of routes) paths.add(r);
    }
  }
  return paths.size && [...paths].some((r) => r !== '/health') ? { health_paths: [...paths].sort() } : {};
}

const rebaseCache = new Map<string, Profile[]>();

/** The name of the base-to-base profile whose old base is class `name` of the file `r`, or null. */
function mappedOldBase(name: string | null, r: string, profile: Profile, root?: string): string | null {
  if (!name || name === profile.base_class) return null;
  const stem = r.replace(/\/index(\.[cm]?[jt]sx?)$/, '$1').split('/').pop()!.replace(/\.[cm]?[jt]sx?$/, '');
  const key = `${profile.name}\0${root ?? ''}`;
  let rebase = rebaseCache.get(key);
  if (!rebase) rebaseCache.set(key, (rebase = rebaseProfiles(profile, root)));
  for (const p of rebase) {
    const from = p.from_base!;
    if (from.class === name && (!from.modules || from.modules.includes(stem))) return p.name;
  }
  return null;
}

/**
 * Is the server this creation makes the return value of its method (`return http.createServer(h)`,
 * `const server = http.createServer(h); return server.listen(port)`), a method the class itself
 * never calls? Then the class builds servers for its callers and keeps none.
 */
function handedToCaller(cls: ClassLike, creation: Node): boolean {
  const method = creation.getFirstAncestor((a) => Node.isMethodDeclaration(a) || Node.isFunctionDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a));
  if (!method || !Node.isMethodDeclaration(method) || method.getParent() !== cls) return false;
  const name = method.getName();
  // `this.<name>` anywhere in the class, tested on the compiler's nodes: ts-morph's own search
  // wrapped every property access of the class, once per server creation (a third of the
  // TypeScript scan's time on a fleet of agents).
  const sf = cls.getSourceFile().compilerNode;
  const callsIt = kindTest([SyntaxKind.PropertyAccessExpression], (n) => {
    const p = n as ts.PropertyAccessExpression;
    return p.expression.kind === SyntaxKind.ThisKeyword && p.name.getText(sf) === name;
  });
  if (descendantsOfKinds(cls, callsIt).length > 0) return false;
  const body = method.getBody();
  if (!body || !Node.isBlock(body)) return false;
  // What the creation's value is known as: the call itself (and calls chained on it), or a const local.
  let value: Node = creation;
  while (Node.isPropertyAccessExpression(value.getParent()) && Node.isCallExpression(value.getParent()!.getParent())) value = value.getParent()!.getParent()!;
  const decl = value.getParent();
  const local = Node.isVariableDeclaration(decl) && decl.getInitializer() === value && Node.isIdentifier(decl.getNameNode()) ? decl.getName() : null;
  // The server must not also be kept on the instance.
  if (descendantsOfKind(body, SyntaxKind.BinaryExpression).some((b) => b.getOperatorToken().getKind() === SyntaxKind.EqualsToken && b.getLeft().getText().startsWith('this.') && (b.getRight() === value || (local !== null && b.getRight().getText().split(/[.(]/)[0] === local)))) return false;
  const returns = descendantsOfKind(body, SyntaxKind.ReturnStatement).filter((r) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === method);
  return returns.some((r) => {
    const e = r.getExpression();
    if (!e) return false;
    if (e === value || (e.getPos() <= value.getPos() && value.getEnd() <= e.getEnd())) return true;
    // `return server` / `return server.listen(port, cb)`.
    return local !== null && (e.getText() === local || e.getText().startsWith(`${local}.listen(`));
  });
}

function hasMethods(cls: ClassLike): boolean {
  return memberBodies(cls).length > 0 || !!cls.getExtends();
}

/** Bodies of the class's methods and arrow-function properties, by member name. */
function memberBodies(cls: ClassLike): Array<{ name: string; body: Node }> {
  const out: Array<{ name: string; body: Node }> = [];
  for (const m of cls.getMembers()) {
    if (Node.isMethodDeclaration(m) && m.getBody()) out.push({ name: m.getName(), body: m.getBody()! });
    else if (Node.isPropertyDeclaration(m)) {
      const fn = m.getInitializer();
      if (fn && (Node.isArrowFunction(fn) || Node.isFunctionExpression(fn))) out.push({ name: m.getName(), body: fn.getBody() });
    }
  }
  return out;
}

/**
 * The pattern searches of one file's classification, each run once per node and kept: the
 * scoring of every class and the findings of the chosen one ask the same class and method
 * bodies (the searches only read the tree, which does not change during a scan).
 */
class Searches {
  private readonly done = new Map<unknown, Map<Node, unknown>>();

  of<N extends Node, T>(search: (n: N) => T, n: N, key: unknown = search): T {
    let byNode = this.done.get(key);
    if (!byNode) this.done.set(key, (byNode = new Map()));
    if (byNode.has(n)) return byNode.get(n) as T;
    const found = search(n);
    byNode.set(n, found);
    return found;
  }

  recursiveRetry(body: Node, name: string): Node | null {
    return this.of((b) => recursiveRetry(b, name), body, `recursiveRetry\0${name}`);
  }
}

function score(sf: SourceFile, fc: FileClass, profile: Profile, searches = new Searches()): Scored {
  const evidence: string[] = [];
  let s = 0;
  const { cls, name } = fc;
  const migrated = reachesBase(cls, profile);
  if (migrated) {
    evidence.push(`extends ${profile.base_class}${migrated === 'direct' ? '' : ' through a parent class'}`);
    s += 5;
  }
  if (name) {
    const entry = findEntry({ sf, className: name, classRef: fc.ref });
    if (entry?.guarded) {
      evidence.push('constructed in the main guard');
      s += 10;
    } else if (entry) {
      evidence.push('constructed at the top level of the module');
      s += 8;
    }
  }
  const servers = serverCreations(cls);
  if (servers.length > 0 && servers.every((c) => handedToCaller(cls, c))) {
    // `listen(port) { const server = http.createServer(...); return server.listen(port); }`: a
    // router or app library builds the server for its caller, who keeps and closes it.
    evidence.push('builds an HTTP server and returns it to its caller');
  } else if (servers.length > 0) {
    evidence.push('starts an HTTP server');
    s += 3;
  } else if (searches.of(healthRoutes, cls).length > 0) {
    evidence.push('serves /health on its router');
    s += 3;
  }
  const bodies = memberBodies(cls);
  if (bodies.some(({ body }) => searches.of(intervalCalls, body).length > 0 || searches.of(foreverLoops, body).length > 0) || searches.of(rearmingTimeouts, cls).length > 0) {
    evidence.push('runs a loop');
    s += 3;
  }
  if (bodies.some(({ name }) => HEALTH_METHOD.test(name))) {
    evidence.push('has a health-check method');
    s += 2;
  }
  if (searches.of(promClientUses, cls).length > 0) {
    evidence.push('keeps prom-client metrics');
    s += 2;
  }
  if (bodies.some(({ name, body }) => searches.recursiveRetry(body, name))) {
    evidence.push('retries by calling itself again');
    s += 1;
  }
  if (bodies.some(({ name }) => /^(start|run|listen|init|connect)$/.test(name)) && bodies.some(({ name }) => /^(stop|close|shutdown|destroy|disconnect)$/.test(name))) {
    evidence.push('has a start/stop lifecycle');
    s += 1;
  }
  if (signalStatements(cls).length > 0) {
    evidence.push('handles SIGTERM/SIGINT');
    s += 2;
  }
  if (Node.isClassDeclaration(cls) && s > 0 && (cls.hasDefaultKeyword() || (mayExportDefault(sf) && cls.isDefaultExport()))) {
    evidence.push('default export');
    s += 1;
  }
  if (cls.isAbstract()) {
    // An abstract class with the loop, server or signals of an agent is its family's parent:
    // it migrates, and its subclasses follow it. Without those it is a plain abstract helper.
    if (hasAgentInfrastructure(cls)) evidence.push('abstract parent of an agent family (its subclasses follow it)');
    else s = Math.min(s, 1);
  }
  return { cls, name, score: s, evidence, migrated: !!migrated };
}

/**
 * Can anything but a `default` modifier make a class the file's default export? Only code that
 * names `default` (`export default X`, `export { X as default }`, `exports.default = X`), or an
 * escaped name (a `\u` escape). Asking the checker otherwise would build it over every file just to hear no.
 */
function mayExportDefault(sf: SourceFile): boolean {
  const text = sf.getFullText();
  return text.includes('default') || text.includes('\\u');
}

/** Does the class reach the base: 'direct', 'parent', or false. Resolved with the type checker. */
export function reachesBase(cls: ClassLike, profile: Profile): 'direct' | 'parent' | false {
  const seen = new Set<ClassLike>();
  let cur: ClassLike | undefined = cls;
  let depth = 0;
  while (cur && !seen.has(cur)) {
    seen.add(cur);
    const ext = cur.getExtends();
    if (!ext) return false;
    let parent: ClassLike | undefined;
    try {
      parent = cur.getBaseClass();
    } catch {
      parent = undefined;
    }
    if (!parent) {
      // Unresolvable (a package not installed): trust the imported name behind an alias.
      const expr = ext.getExpression();
      if (Node.isIdentifier(expr)) {
        const imported = importedName(cur.getSourceFile(), expr.getText());
        if (imported === profile.base_class || expr.getText() === profile.base_class) return depth === 0 ? 'direct' : 'parent';
      }
      return false;
    }
    if (parent.getName() === profile.base_class) return depth === 0 ? 'direct' : 'parent';
    cur = parent;
    depth++;
  }
  return false;
}

function importedName(sf: SourceFile, local: string): string | null {
  for (const d of sf.getImportDeclarations()) {
    for (const n of d.getNamedImports()) if ((n.getAliasNode()?.getText() ?? n.getName()) === local) return n.getName();
  }
  return null;
}

/** Calls that may open a socket (`net.connect(...)`): a callee ending in one of those names (only these are wrapped and read as text). */
const SOCKET_CALLS = kindTest([SyntaxKind.CallExpression], (n) => /^(createServer|connect|createConnection|createSocket)$/.test(lastName((n as ts.CallExpression).expression) ?? ''));

/** Ad-hoc infrastructure in the agent, with symbol and 1-based line. */
export function findings(sf: SourceFile, cls: ClassLike, searches = new Searches()): Finding[] {
  const out: Finding[] = [];
  const add = (kind: Finding['kind'], symbol: string, node: Node) => {
    if (!out.some((f) => f.kind === kind && f.symbol === symbol)) out.push({ kind, symbol, line: node.getStartLineNumber() });
  };
  for (const m of cls.getMembers()) {
    const name = memberName(m) ?? 'constructor';
    const body = Node.isMethodDeclaration(m) || Node.isConstructorDeclaration(m) ? m.getBody() : Node.isPropertyDeclaration(m) ? m.getInitializer() : undefined;
    if (Node.isPropertyDeclaration(m)) {
      const init = m.getInitializer();
      const t = m.getTypeNode()?.getText() ?? '';
      if (QUEUE_NAME.test(name) && ((init && Node.isArrayLiteralExpression(init)) || /\[\]$|^Array</.test(t))) add('queue', name, m);
      if (init && /^new (Counter|Gauge|Histogram|Summary)\b/.test(init.getText())) add('metrics', name, m);
      if (init && /^(net|tls|dgram)\.|new (WebSocket|Socket)\b|zmq|zeromq/.test(init.getText())) add('socket', name, m);
    }
    if (!body) continue;
    const servers = serverCreations(body);
    if (servers.length > 0) {
      const routes = new Set<string>();
      for (const s of servers) for (const r of routesIn(s)) routes.add(r);
      if (routes.has('/metrics')) add('metrics', name, m);
      add('health', name, m);
    } else if (/health/i.test(name) && Node.isMethodDeclaration(m)) add('health', name, m);
    const fnLike = Node.isMethodDeclaration(m) || (Node.isPropertyDeclaration(m) && isFunctionValue(m.getInitializer()));
    if (fnLike && (RETRY_NAME.test(name) || looksLikeRetry(body))) add('retry', name, m);
    const again = fnLike ? searches.recursiveRetry(body, name) : null;
    if (again) add('retry', name, again);
    for (const { stmt, timer } of searches.of(intervalCalls, body)) add('loop', timer ?? name, stmt);
    for (const loop of searches.of(foreverLoops, body)) add('loop', name, loop);
    for (const s of signalStatements(body)) add('signal', name, s);
    const push = Node.isMethodDeclaration(m) ? pushKind(body) : null;
    if (push) add(push, name, m);
    if (Node.isMethodDeclaration(m) && /^(publish|emit|send|broadcast|notify)/i.test(name)) add('publish', name, m);
    for (const n of descendantsOfKinds(body, SOCKET_CALLS) as CallExpression[]) {
      if (/^(net|tls|dgram)\.(createServer|connect|createConnection|createSocket)$/.test(calleeText(n))) add('socket', name, n);
    }
  }
  for (const r of searches.of(rearmingTimeouts, cls)) add('loop', r.method, r.stmt);
  for (const r of searches.of(healthRoutes, cls)) add('health', `${r.receiver}.get('${r.path}')`, r.stmt);
  for (const p of searches.of(promClientUses, cls)) add('metrics', p.what, p.node);
  // Express apps stored on the agent: their /health routes.
  for (const p of cls.getProperties()) {
    const init = p.getInitializer();
    if (init && Node.isCallExpression(init) && calleeText(init) === 'express') {
      for (const r of expressRoutes(cls, p.getName())) if (r.path === '/health') add('health', `${p.getName()}.get('/health')`, r.stmt);
    }
  }
  for (const f of sf.getFunctions()) {
    const body = f.getBody();
    if (f.getName() && body && (RETRY_NAME.test(f.getName()!) || looksLikeRetry(body))) add('retry', f.getName()!, f);
  }
  return out.sort((a, b) => a.line - b.line);
}
