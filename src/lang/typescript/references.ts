// Who else calls a member of the agent: before a public member is renamed or removed, its
// references across the repository are found — ts-morph findReferences (with the repository's
// tsconfig.json compiler options, so path aliases resolve) over the files that mention it, and a
// text search for JavaScript and tests the type checker cannot follow. Files are listed and read
// once per repository and process, and re-read only when they change.
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Node, Project, ts } from 'ts-morph';
import { listSourceFiles } from '../../discover/files.js';
import { compilerOptionsFor } from './project.js';
import { fileClasses, moduleFunctions, requestsIn, START_NAMES } from './syntax.js';
import { forgetOnReset } from '../../core/invocation.js';
import { importedFile } from './imported-file.js';

export interface OutsideCaller {
  /** Path relative to the repository root. */
  file: string;
  line: number;
  /** The line's text, trimmed. */
  text: string;
}

const SOURCES = ['.ts', '.tsx', '.mts', '.cts', '.js', '.cjs', '.mjs'];
const indexes = new Map<string, { at: number; files: Array<{ file: string; text: string }> }>();
const texts = new Map<string, { mtime: number; text: string }>();
forgetOnReset(() => {
  indexes.clear();
  texts.clear();
  last = null;
});

/**
 * The repository's sources with their text. One batch asks for many agents of one repository,
 * so the listing (and the texts it read) is reused for a few seconds, then checked again (a
 * file is read again only when it changed).
 */
function repoFiles(root: string): Array<{ file: string; text: string }> {
  const hit = indexes.get(root);
  if (hit && Date.now() - hit.at < 10_000) return hit.files;
  let listed: string[];
  try {
    listed = listSourceFiles(root, SOURCES).filter((f) => !/\.d\.[cm]?ts$/.test(f) && !/_v2\.[cm]?[jt]sx?$/.test(f));
  } catch {
    listed = []; // a root that cannot be listed has no other callers to find
  }
  const files: Array<{ file: string; text: string }> = [];
  for (const file of listed) {
    const text = textOf(file);
    if (text !== null) files.push({ file, text });
  }
  indexes.set(root, { at: Date.now(), files });
  return files;
}

function textOf(file: string): string | null {
  try {
    const mtime = statSync(file).mtimeMs;
    const hit = texts.get(file);
    if (hit && hit.mtime === mtime) return hit.text;
    const text = readFileSync(file, 'utf8');
    texts.set(file, { mtime, text });
    return text;
  } catch {
    return null;
  }
}

/**
 * Uses of `className.member` outside the agent's own file. `source` is the agent file's text
 * (the rewrite has it in hand); the agent file on disk is not read.
 */
export function outsideCallers(root: string, file: string, source: string, className: string, member: string): OutsideCaller[] {
  // A `_v2` output answers its legacy file's callers (they import the legacy module, which the
  // output replaces once promoted): a second rewrite of the output must see the same callers.
  const agentAbs = path.resolve(root, file).replace(/_v2(\.[cm]?[jt]sx?)$/, '$1');
  const stem = path.basename(agentAbs).replace(/\.[cm]?[jt]sx?$/, '');
  const memberRe = new RegExp(`\\.\\s*${member.replace(/\$/g, '\\$')}\\b|\\[\\s*['"\`]${member.replace(/\$/g, '\\$')}['"\`]\\s*\\]`);
  const mentions = new RegExp(`\\b${className}\\b|['"\`][^'"\`]*\\b${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.[cm]?[jt]s)?['"\`]`);
  // A file that declares a class of the same name is another copy of the agent, not a caller.
  const declares = new RegExp(`\\bclass\\s+${className}\\b`);
  const candidates: string[] = [];
  for (const { file: f, text } of filesMentioning(repoFiles(root), agentAbs, className, stem, mentions, declares)) {
    if (text.includes(member) && memberRe.test(text)) candidates.push(f);
  }
  if (candidates.length === 0) return [];
  const out: OutsideCaller[] = [];
  const found = new Set<string>();
  const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');
  const add = (f: string, line: number, text: string) => {
    const key = `${f}:${line}`;
    if (found.has(key)) return;
    found.add(key);
    out.push({ file: rel(f), line, text: text.trim() });
  };
  // The type checker first: references that resolve to this class's member.
  const { project, agentSf } = projectFor(root, agentAbs, source);
  for (const c of candidates) if (!project.getSourceFile(c)) project.addSourceFileAtPathIfExists(c);
  const cls = fileClasses(agentSf).find((c) => c.name === className)?.cls;
  // A parameter property (`protected readonly healthPort: number` in the constructor) is a member
  // too: a subclass in another file reads it as `this.healthPort`, which only the checker ties to it.
  const decl =
    cls?.getMembers().find((m) => (Node.isMethodDeclaration(m) || Node.isPropertyDeclaration(m)) && m.getName() === member) ??
    cls?.getConstructors().flatMap((c) => c.getParameters()).find((p) => p.isParameterProperty() && p.getName() === member);
  const semantic = new Set<string>();
  if (decl && (Node.isMethodDeclaration(decl) || Node.isPropertyDeclaration(decl) || Node.isParameterDeclaration(decl))) {
    try {
      for (const ref of decl.findReferencesAsNodes()) {
        const sf = ref.getSourceFile();
        if (path.resolve(sf.getFilePath()) === agentAbs) continue;
        const line = ref.getStartLineNumber();
        semantic.add(path.resolve(sf.getFilePath()));
        add(sf.getFilePath(), line, sf.getFullText().split('\n')[line - 1] ?? '');
      }
    } catch {
      // A file the language service cannot take: the text search below still runs.
    }
  }
  // Text search for JavaScript and tests the checker could not tie to the class (untyped
  // requires, mocks): a `.member(` call in a file that imports the agent's module or names it.
  // Any access counts, not only calls: a test reading `agent.pollTimer` after stop() needs the
  // member. `this.x` there is another class's own member.
  const callRe = new RegExp(`(?<!\\bthis\\s*)\\.\\s*${member.replace(/\$/g, '\\$')}(?![\\w$])|\\[\\s*['"\`]${member.replace(/\$/g, '\\$')}['"\`]\\s*\\]`);
  for (const c of candidates) {
    if (semantic.has(path.resolve(c))) continue;
    const isJsOrTest = /\.[cm]?js$/.test(c) || /(^|[/.])(test|tests|spec|__tests__)([/.])/.test(rel(c));
    if (!isJsOrTest) {
      // A typed file: an access the checker could not tie to any class (its receiver is `any`:
      // a lib type such as ReturnType<> the reference project leaves out, a cast to a record,
      // `agent['member']`) may be this member's: it counts. One whose receiver is another type does not.
      const sf = project.getSourceFile(c);
      if (sf) for (const n of untiedAccesses(sf, member)) add(c, n.getStartLineNumber(), sf.getFullText().split('\n')[n.getStartLineNumber() - 1] ?? '');
      continue;
    }
    const text = textOf(c) ?? '';
    const others = ownClassInstances(text, className);
    text.split('\n').forEach((l, i) => {
      if (callRe.test(l) && !onlyOwnInstances(l, member, others)) add(c, i + 1, l);
    });
  }
  return out.sort((a, b) => a.file.localeCompare(b.file) || a.line - b.line);
}

/**
 * `const relay = new WebhookRelay()` in a JavaScript file that declares `class WebhookRelay` itself
 * (and only imports a constant of the agent's module): the names bound once to an instance of a
 * class of that file other than the agent's. Their `relay.stop()` is that class's, not the agent's:
 * before, the text search reported it as the agent's caller ("stop() is called from
 * services/webhook-relay.js:136"), naming another service's own shutdown.
 */
function ownClassInstances(text: string, className: string): Set<string> {
  const declared = new Set([...text.matchAll(/\bclass\s+([A-Za-z_$][\w$]*)/g)].map((m) => m[1]!).filter((n) => n !== className));
  const out = new Set<string>();
  if (declared.size === 0) return out;
  for (const m of text.matchAll(/\bconst\s+([A-Za-z_$][\w$]*)\s*=\s*new\s+([A-Za-z_$][\w$]*)\s*\(/g)) if (declared.has(m[2]!)) out.add(m[1]!);
  return out;
}

/** Every access of `.member` on the line is on one of `receivers` (and there is at least one). */
function onlyOwnInstances(line: string, member: string, receivers: Set<string>): boolean {
  if (receivers.size === 0) return false;
  const m = member.replace(/\$/g, '\\$');
  const all = [...line.matchAll(new RegExp(`\\.\\s*${m}(?![\\w$])|\\[\\s*['"\`]${m}['"\`]\\s*\\]`, 'g'))].length;
  const own = [...line.matchAll(new RegExp(`(?<![\\w$.])([A-Za-z_$][\\w$]*)\\s*\\.\\s*${m}(?![\\w$])`, 'g'))].filter((x) => receivers.has(x[1]!)).length;
  return all > 0 && own === all;
}

/**
 * Lines of other files of the repository (JavaScript and TypeScript, not `_v2` outputs) matching
 * `pattern`, among those that name `className` or import the agent's module.
 */
/**
 * Why a prototype-style constructor function cannot be written as a class, or null: another
 * file calls it as a function or builds on its prototype (X.call(this), util.inherits(Y, X),
 * X.prototype..., X(...) without new), which a class cannot serve. The scan and the rewrite
 * both ask, so a service the run would skip is never listed as legacy.
 */
export function prototypeUsedAsFunction(root: string, file: string, className: string): string | null {
  const users = mentionsElsewhere(root, file, className, new RegExp(`\\b${className}\\.(call|apply|prototype)\\b|inherits\\([^,]+,\\s*${className}\\b|(^|[^.\\w$]|[^w]\\s)${className}\\(`));
  const asFunction = users.filter((u) => !new RegExp(`new\\s+${className}\\(`).test(u.text) || /\.(call|apply|prototype)\b|inherits\(/.test(u.text));
  if (asFunction.length === 0) return null;
  const at = asFunction.slice(0, 3).map((u) => `${u.file}:${u.line}`).join(', ');
  return `prototype-style constructor function ${className}, not a class: rewrite it as a class to migrate it (not converted automatically: ${at} ${asFunction.length === 1 ? 'uses' : 'use'} it as a function or a prototype, which a class cannot be)`;
}

/** The repository's source files (other than those given) that the references search reads. */
export function referenceSearchFiles(root: string): string[] {
  return repoFiles(root).map((f) => f.file);
}

export function mentionsElsewhere(root: string, file: string, className: string, pattern: RegExp): OutsideCaller[] {
  const out: OutsideCaller[] = [];
  for (const { file: f, text } of agentUsers(root, file, className)) {
    text.split('\n').forEach((l, i) => {
      if (pattern.test(l)) out.push({ file: path.relative(root, f).split(path.sep).join('/'), line: i + 1, text: l.trim() });
    });
  }
  return out;
}

/** The other files of the repository that name the agent's class or import its module. */
export function agentImporters(root: string, file: string, className: string): Array<{ file: string; text: string }> {
  return agentUsers(root, file, className);
}

/** Another file's text parsed on its own, in memory (what it names resolves in that file only). */
function standaloneSource(stem: string, file: string, text: string): import('ts-morph').SourceFile {
  return new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } }).createSourceFile(`/${stem}${path.extname(file)}`, text);
}

/** The repository's other files that name the class or import the agent's module (a file declaring a class or constructor function of that name is another copy, not a user). */
function agentUsers(root: string, file: string, className: string): Array<{ file: string; text: string }> {
  const agentAbs = path.resolve(root, file).replace(/_v2(\.[cm]?[jt]sx?)$/, '$1');
  const stem = path.basename(agentAbs).replace(/\.[cm]?[jt]sx?$/, '');
  const mentions = new RegExp(`\\b${className}\\b|['"\`][^'"\`]*\\b${stem.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}(\\.[cm]?[jt]s)?['"\`]`);
  return filesMentioning(repoFiles(root), agentAbs, className, stem, mentions, new RegExp(`\\b(class|function)\\s+${className}\\b`));
}

/**
 * `process.on('SIGTERM', () => { agent.stop(); process.exit(0); })` in another file of the
 * repository that imports or names the agent (its starter under bin/, say): a signal handler that
 * ends the process at once, not after a promise or an await. Beside the base's own handler it
 * exits while the base's stop() is still closing its servers and deregistering. Each such exit,
 * with the signal; an exit in a callback (`agent.stop().then(() => process.exit(0))`) waits and
 * does not count.
 */
export function callerSignalExits(root: string, file: string, className: string): Array<OutsideCaller & { signal: string }> {
  const out: Array<OutsideCaller & { signal: string }> = [];
  for (const { file: f, text } of agentUsers(root, file, className)) {
    if (!/SIG(TERM|INT)/.test(text) || !text.includes('process.exit')) continue;
    const sf = standaloneSource('caller', f, text);
    for (const call of sf.getDescendantsOfKind(ts.SyntaxKind.CallExpression)) {
      const [sig, handler] = call.getArguments();
      if (!/^process\.(on|once|addListener|prependListener)$/.test(call.getExpression().getText()) || !sig || !/^['"`]SIG(TERM|INT)['"`]$/.test(sig.getText())) continue;
      if (!handler || !(Node.isArrowFunction(handler) || Node.isFunctionExpression(handler)) || handler.isAsync()) continue;
      for (const exit of handler.getDescendantsOfKind(ts.SyntaxKind.CallExpression)) {
        if (exit.getExpression().getText() !== 'process.exit') continue;
        if (exit.getFirstAncestor((a) => Node.isArrowFunction(a) || Node.isFunctionExpression(a) || Node.isFunctionDeclaration(a)) !== handler) continue;
        out.push({ file: path.relative(root, f).split(path.sep).join('/'), line: exit.getStartLineNumber(), text: exit.getText(), signal: sig.getText().slice(1, -1) });
      }
    }
  }
  return out;
}

/**
 * The calls of the agent's `member()` at the lines `callers` names (its outside callers), each with
 * the `.catch(h)` statement around it when the call is the whole of `X.member().catch(h);`, else
 * none: `relay.start().catch((err) => { console.error(...); process.exit(1); });` in bin/relay.js.
 * Each caller's file is parsed on its own (in memory): what its handler names resolves there.
 */
export function callerCatches(root: string, file: string, className: string, member: string, callers: OutsideCaller[]): Array<OutsideCaller & { catchCall: import('ts-morph').CallExpression | null }> {
  const out: Array<OutsideCaller & { catchCall: import('ts-morph').CallExpression | null }> = [];
  for (const { file: f, text } of agentUsers(root, file, className)) {
    const rel = path.relative(root, f).split(path.sep).join('/');
    const lines = new Set(callers.filter((c) => c.file === rel).map((c) => c.line));
    if (lines.size === 0) continue;
    const sf = standaloneSource('caller', f, text);
    for (const call of sf.getDescendantsOfKind(ts.SyntaxKind.CallExpression)) {
      const callee = call.getExpression();
      if (!Node.isPropertyAccessExpression(callee) || callee.getName() !== member || !lines.has(call.getStartLineNumber())) continue;
      const access = call.getParent();
      const outer = access && Node.isPropertyAccessExpression(access) && access.getName() === 'catch' && access.getExpression() === call ? access.getParent() : undefined;
      const catchCall = outer && Node.isCallExpression(outer) && outer.getArguments().length === 1 && Node.isExpressionStatement(outer.getParent()) ? outer : null;
      out.push({ file: rel, line: call.getStartLineNumber(), text: call.getText(), catchCall });
    }
  }
  return out;
}

/**
 * Another file of the repository that constructs the agent and, in the same process, another
 * agent: a class it imports from a module of the repository that handles SIGTERM / SIGINT itself
 * (a legacy agent) or extends `baseClass` (a migrated one). Each such agent ends up with a base
 * whose signal handler exits the process. Each runner once: the line constructing this agent and
 * the other classes' names.
 */
export function sharedProcessRunners(root: string, file: string, className: string, baseClass: string): Array<OutsideCaller & { others: string[] }> {
  const out: Array<OutsideCaller & { others: string[] }> = [];
  const handlesSignals = new RegExp(`process\\.(on|once)\\(\\s*['"\`]SIG(TERM|INT)|\\bextends\\s+${baseClass}\\b`);
  for (const { file: f, text } of agentUsers(root, file, className)) {
    const sf = standaloneSource('runner', f, text);
    const built = sf.getDescendantsOfKind(ts.SyntaxKind.NewExpression);
    const ours = built.find((n) => n.getExpression().getText() === className);
    if (!ours) continue;
    const others = new Set<string>();
    for (const imp of sf.getImportDeclarations()) {
      const spec = imp.getModuleSpecifierValue();
      if (!spec.startsWith('.')) continue;
      const names = imp.getNamedImports().map((n) => n.getAliasNode()?.getText() ?? n.getName());
      const def = imp.getDefaultImport()?.getText();
      const used = [...names, ...(def ? [def] : [])].filter((n) => n !== className && built.some((b) => b.getExpression().getText() === n));
      if (used.length === 0) continue;
      const stem = path.resolve(path.dirname(f), spec).replace(/\.[cm]?[jt]sx?$/, '');
      const target = repoFiles(root).find((r) => r.file.replace(/\.[cm]?[jt]sx?$/, '').replace(/\/index$/, '') === stem || r.file.replace(/\.[cm]?[jt]sx?$/, '') === stem);
      if (target && handlesSignals.test(target.text)) for (const n of used) others.add(n);
    }
    if (others.size > 0) out.push({ file: path.relative(root, f).split(path.sep).join('/'), line: ours.getStartLineNumber(), text: ours.getText(), others: [...others] });
  }
  return out;
}

/**
 * `process.on('SIGTERM', () => void shutdown('SIGTERM'))` in another file that starts the agent
 * (`await agent.start()`) before installing it, where `shutdown` (or the handler itself) does
 * `await agent.stop();` and then more (`console.log(\`exit summary ...\`)`, a file written).
 * start() installed the base's own handler first; on the signal it calls the same stop() and
 * exits as soon as it has resolved, before the caller's continuation gets its turn: the
 * statements after the await (other than the caller's own exit) never run. Each, with its line.
 * The same when what the handler awaits is another method of an instance of the agent the file
 * builds (`const worker = new TranscodeWorker(...)`, then `await worker.close(10000);`): `awaited`
 * names that method, and the awaited statement itself is one of the results (`call: true`), since
 * its work after its first wait races the base's exit as well, unless the base's stop() runs it.
 */
export function callerSignalTails(root: string, file: string, className: string, agentText?: string): Array<OutsideCaller & { signal: string; stopLine: number; awaited: string; call?: boolean }> {
  const out: Array<OutsideCaller & { signal: string; stopLine: number; awaited: string; call?: boolean }> = [];
  const factories = agentFactories(root, file, className, agentText);
  for (const { file: f, text } of agentUsers(root, file, className)) {
    if (!/SIG(TERM|INT)/.test(text) || !(/\.stop\(/.test(text) || /\bawait\b/.test(text))) continue;
    const sf = standaloneSource('caller', f, text);
    const calls = sf.getDescendantsOfKind(ts.SyntaxKind.CallExpression);
    // The file's variables holding an agent it builds: `new X(...)`, `X.create(...)` (a factory of it), awaited or not.
    const instances = new Set<string>();
    for (const v of sf.getDescendantsOfKind(ts.SyntaxKind.VariableDeclaration)) {
      const init = v.getInitializer();
      if (init && buildsAgent(init, className, factories) && Node.isIdentifier(v.getNameNode())) instances.add(v.getName());
    }
    // Started with a start call (`await agent.start()`, `await cache.listen()`: startsInstance); once the file
    // starts the base, its handler is what follows. A file that only uses an agent it never starts installs no base handler.
    // (Not a call inside a signal handler of the file: `await ingest.stop()` in shutdown() starts nothing.)
    const handlers = calls
      .filter((c) => /^process\.(on|once|addListener)$/.test(c.getExpression().getText()) && !!c.getArguments()[1])
      .flatMap((c): Node[] => [c.getArguments()[1]!, ...(handlerFunctions(sf, c.getArguments()[1]!) as Node[])]);
    const inHandler = (c: Node) => handlers.some((h) => h.getPos() <= c.getPos() && c.getEnd() <= h.getEnd());
    const started = (at: number) => calls.some((c) => c.getEnd() <= at && startsInstance(c, instances, (n) => buildsAgent(n, className, factories)) && !inHandler(c));
    for (const call of calls) {
      const [sig, handler] = call.getArguments();
      if (!/^process\.(on|once|addListener)$/.test(call.getExpression().getText()) || !sig || !/^['"`]SIG(TERM|INT)['"`]$/.test(sig.getText()) || !handler) continue;
      if (!started(call.getStart())) continue;
      for (const fn of handlerFunctions(sf, handler)) {
        const body = (fn as import('ts-morph').ArrowFunction).getBody();
        if (!body || !Node.isBlock(body)) continue;
        const stmts = body.getStatements();
        // The first statement awaiting the agent's stop(), or another method of an instance of it.
        let awaited = '';
        const at = stmts.findIndex((st) => {
          const e = Node.isExpressionStatement(st) ? st.getExpression() : undefined;
          const c = e && Node.isAwaitExpression(e) ? e.getExpression() : undefined;
          if (!c || !Node.isCallExpression(c) || !Node.isPropertyAccessExpression(c.getExpression())) return false;
          const callee = c.getExpression() as import('ts-morph').PropertyAccessExpression;
          if (callee.getName() === 'stop' && c.getArguments().length === 0) awaited = 'stop';
          else if (Node.isIdentifier(callee.getExpression()) && instances.has(callee.getExpression().getText())) awaited = callee.getName();
          return awaited !== '';
        });
        if (at < 0) continue;
        const rel = path.relative(root, f).split(path.sep).join('/');
        const common = { file: rel, signal: sig.getText().slice(1, -1), stopLine: stmts[at]!.getStartLineNumber(), awaited };
        if (awaited !== 'stop' && !out.some((o) => o.file === rel && o.line === stmts[at]!.getStartLineNumber())) {
          out.push({ ...common, line: stmts[at]!.getStartLineNumber(), text: stmts[at]!.getText().replace(/\s*\n\s*/g, ' '), call: true });
        }
        for (const st of stmts.slice(at + 1)) {
          // The caller's own exit, and a declaration (`const s = agent.stats;`), do nothing one would miss.
          if (/^process\.exit\(/.test(st.getText()) || Node.isVariableStatement(st)) continue;
          if (out.some((o) => o.file === rel && o.line === st.getStartLineNumber())) continue;
          out.push({ ...common, line: st.getStartLineNumber(), text: st.getText().replace(/\s*\n\s*/g, ' ') });
        }
      }
    }
  }
  return out;
}

/**
 * `agent.start()`, `await cache.listen()`: a method named like a start (START_NAMES, as the entry
 * point's start call is read) called on a variable holding an agent the file built, or on the
 * building itself (`new X().start()`). Not another method (`cache.command('STATS')` starts nothing).
 */
function startsInstance(c: Node, instances: ReadonlySet<string>, builds: (n: Node) => boolean): boolean {
  if (!Node.isCallExpression(c)) return false;
  const callee = c.getExpression();
  if (!Node.isPropertyAccessExpression(callee) || !START_NAMES.test(callee.getName())) return false;
  const target = callee.getExpression();
  return (Node.isIdentifier(target) && instances.has(target.getText())) || builds(target);
}

/** The function a signal handler is, or the one it only calls (`() => void shutdown('SIGTERM')`, `shutdown`), declared in the file. */
function handlerFunctions(sf: import('ts-morph').SourceFile, handler: Node): Array<import('ts-morph').FunctionLikeDeclaration | import('ts-morph').ArrowFunction | import('ts-morph').FunctionExpression> {
  const named = (id: Node) => {
    if (!Node.isIdentifier(id)) return [];
    const f = sf.getFunction(id.getText()) ?? sf.getDescendantsOfKind(ts.SyntaxKind.VariableDeclaration).find((v) => v.getName() === id.getText())?.getInitializer();
    return f && (Node.isFunctionDeclaration(f) || Node.isArrowFunction(f) || Node.isFunctionExpression(f)) ? [f] : [];
  };
  if (!Node.isArrowFunction(handler) && !Node.isFunctionExpression(handler)) return named(handler);
  const body = handler.getBody();
  const only = Node.isBlock(body) ? (body.getStatements().length === 1 && Node.isExpressionStatement(body.getStatements()[0]) ? (body.getStatements()[0] as import('ts-morph').ExpressionStatement).getExpression() : undefined) : body;
  const inner = only && Node.isVoidExpression(only) ? only.getExpression() : only;
  if (inner && Node.isCallExpression(inner)) {
    const f = named(inner.getExpression());
    if (f.length > 0) return f;
  }
  return [handler];
}

/**
 * `.member` and `['member']` accesses in a file whose receiver the checker types as `any` (or
 * cannot type): uses of some object's member that no class can be ruled out for.
 */
function untiedAccesses(sf: import('ts-morph').SourceFile, member: string): Node[] {
  const out: Node[] = [];
  sf.forEachDescendant((n) => {
    let receiver: Node | undefined;
    if (Node.isPropertyAccessExpression(n) && n.getName() === member) receiver = n.getExpression();
    else if (Node.isElementAccessExpression(n)) {
      const arg = n.getArgumentExpression();
      if (arg && (Node.isStringLiteral(arg) || Node.isNoSubstitutionTemplateLiteral(arg)) && arg.getLiteralText() === member) receiver = n.getExpression();
    }
    if (!receiver || receiver.getKind() === ts.SyntaxKind.ThisKeyword || receiver.getKind() === ts.SyntaxKind.SuperKeyword) return;
    let untied = true;
    try {
      const t = receiver.getType();
      untied = t.isAny() || t.isUnknown();
    } catch {
      // a node the checker cannot type: counted
    }
    if (untied) out.push(n);
  });
  return out;
}

const mentioning = new WeakMap<object, Map<string, Array<{ file: string; text: string }>>>();

/**
 * The other files that name the agent's class or import its module (and do not declare a class
 * of the same name), in listing order. The same for every member of one agent: found once per
 * listing, not once per member (a fleet would otherwise read every file for every member).
 */
function filesMentioning(
  files: Array<{ file: string; text: string }>,
  agentAbs: string,
  className: string,
  stem: string,
  mentions: RegExp,
  declares: RegExp,
): Array<{ file: string; text: string }> {
  let byAgent = mentioning.get(files);
  if (!byAgent) mentioning.set(files, (byAgent = new Map()));
  const key = `${agentAbs}\0${className}\0${declares.source}`;
  let hit = byAgent.get(key);
  if (!hit) {
    // mentions matches only a text where the class name is a whole word, or a quoted path whose
    // stem starts at a word boundary (so the stem's first word is a whole word there): the word
    // index narrows the files first. A name with `$` is a regex of its own: those read them all.
    const stemWord = /^\w+/.exec(stem)?.[0];
    const narrowed = /^\w+$/.test(className) && stemWord ? withWords(files, [className, stemWord]) : files;
    hit = narrowed.filter(({ file, text }) => path.resolve(file) !== agentAbs && mentions.test(text) && !declares.test(text));
    byAgent.set(key, hit);
  }
  return hit;
}

const wordIndexes = new WeakMap<object, Map<string, number[]>>();

/** The files (in listing order) in which one of the words occurs as a whole word (`\w+`). */
function withWords(files: Array<{ file: string; text: string }>, words: string[]): Array<{ file: string; text: string }> {
  let index = wordIndexes.get(files);
  if (!index) {
    const built = new Map<string, number[]>();
    files.forEach(({ text }, i) => {
      for (const w of new Set(text.match(/\w+/g))) {
        const list = built.get(w);
        if (list) list.push(i);
        else built.set(w, [i]);
      }
    });
    wordIndexes.set(files, (index = built));
  }
  const at = new Set<number>();
  for (const w of words) for (const i of index.get(w) ?? []) at.add(i);
  return [...at].sort((a, b) => a - b).map((i) => files[i]!);
}

let last: { key: string; project: Project; agentSf: import('ts-morph').SourceFile } | null = null;

/**
 * One project per agent, kept while its members are looked up. No lib and no @types: finding
 * which class a member access resolves to needs the repository's own files only (and is far
 * cheaper without them).
 */
function projectFor(root: string, agentAbs: string, source: string): { project: Project; agentSf: import('ts-morph').SourceFile } {
  const key = `${root}\0${agentAbs}\0${source.length}\0${source.slice(0, 200)}`;
  if (last?.key === key) return last;
  const project = new Project({
    compilerOptions: { ...compilerOptionsFor(root), ...tsconfigOptions(root), allowJs: true, noEmit: true, noLib: true, types: [], typeRoots: [] },
    skipAddingFilesFromTsConfig: true,
  });
  const agentSf = project.createSourceFile(agentAbs, source, { overwrite: true });
  last = { key, project, agentSf };
  return last;
}

function tsconfigOptions(root: string): ts.CompilerOptions {
  const cfg = path.join(root, 'tsconfig.json');
  const read = ts.readConfigFile(cfg, ts.sys.readFile);
  if (read.error || !read.config) return {};
  const { options } = ts.parseJsonConfigFileContent(read.config, ts.sys, root);
  // Only what decides where imports resolve: the rest stays ours.
  return { baseUrl: options.baseUrl, paths: options.paths, rootDirs: options.rootDirs };
}

/**
 * Files of the repository that import the agent's module and, in the same process, construct a
 * class of another module of the repository whose source reads `env` (or extends `baseClass`,
 * which reads it, or starts a server and may move onto it): a module-level `process.env.X ||= ...`
 * written before the agent's class applies to that class too. Each such construction, with the
 * class's name and the file that declares it.
 */
export function sharedProcessClasses(root: string, file: string, className: string, env: string, baseClass: string): Array<OutsideCaller & { other: string; otherFile: string }> {
  const agentAbs = path.resolve(root, file).replace(/_v2(\.[cm]?[jt]sx?)$/, '$1');
  const out: Array<OutsideCaller & { other: string; otherFile: string }> = [];
  const rel = (f: string) => path.relative(root, f).split(path.sep).join('/');
  const affected = new RegExp(`\\b${env}\\b|\\bextends\\s+${baseClass}\\b|\\.listen\\s*\\(`);
  for (const { file: f, text } of agentUsers(root, file, className)) {
    const sf = standaloneSource('importer', f, text);
    // Local name → the repository module it comes from (import declarations and require()).
    const from = new Map<string, string>();
    const resolve = (spec: string): string | null => {
      if (!spec.startsWith('.')) return null;
      const bare = path.resolve(path.dirname(f), spec);
      for (const cand of [bare, ...SOURCES.map((e) => bare.replace(/\.[cm]?js$/, '') + e), ...SOURCES.map((e) => path.join(bare, `index${e}`))]) {
        // (The agent's own file counts even where it is not on disk under its path, as in a fixture.)
        if (cand === agentAbs || repoFiles(root).some((r) => path.resolve(r.file) === cand)) return cand;
      }
      return null;
    };
    for (const d of sf.getImportDeclarations()) {
      const target = resolve(d.getModuleSpecifierValue());
      if (!target) continue;
      for (const n of d.getNamedImports()) from.set(n.getAliasNode()?.getText() ?? n.getName(), target);
      const def = d.getDefaultImport();
      if (def) from.set(def.getText(), target);
    }
    for (const v of sf.getDescendantsOfKind(ts.SyntaxKind.VariableDeclaration)) {
      const init = v.getInitializer();
      if (!init || !Node.isCallExpression(init) || init.getExpression().getText() !== 'require') continue;
      const spec = init.getArguments()[0];
      const target = spec && Node.isStringLiteral(spec) ? resolve(spec.getLiteralValue()) : null;
      if (!target) continue;
      const name = v.getNameNode();
      if (Node.isIdentifier(name)) from.set(name.getText(), target);
      else if (Node.isObjectBindingPattern(name)) for (const el of name.getElements()) from.set(el.getName(), target);
    }
    if (![...from.values()].includes(agentAbs)) continue;
    for (const n of sf.getDescendantsOfKind(ts.SyntaxKind.NewExpression)) {
      const callee = n.getExpression().getText();
      const target = from.get(callee);
      if (!target || target === agentAbs) continue;
      const other = textOf(target);
      if (!other || !affected.test(other)) continue;
      out.push({ file: rel(f), line: n.getStartLineNumber(), text: n.getText(), other: callee, otherFile: rel(target) });
    }
  }
  return out;
}

/**
 * What other files of the repository pass as argument `index` of `new className(...)` (main.ts's
 * `new ReportGateway(CONFIG, registry)`): each argument with the declaration the checker ties it
 * to (an import of the agent module's own `export const CONFIG = loadConfig()`, the caller's own
 * `const cfg = loadConfig()`), and whether that declaration is in the agent's file. Before, only
 * the agent's own file was searched, and a config built elsewhere went unseen.
 */
export function outsideConstructorArgs(root: string, file: string, source: string, className: string, index: number): Array<OutsideCaller & { arg: Node; decl: Node | null; inAgent: boolean }> {
  const agentAbs = path.resolve(root, file).replace(/_v2(\.[cm]?[jt]sx?)$/, '$1');
  const users = agentUsers(root, file, className).filter((u) => new RegExp(`\\bnew\\s+${className}\\b`).test(u.text));
  if (users.length === 0) return [];
  const { project } = projectFor(root, agentAbs, source);
  const out: Array<OutsideCaller & { arg: Node; decl: Node | null; inAgent: boolean }> = [];
  for (const u of users) {
    const sf = project.getSourceFile(u.file) ?? project.addSourceFileAtPathIfExists(u.file);
    if (!sf) continue;
    for (const e of sf.getDescendantsOfKind(ts.SyntaxKind.NewExpression)) {
      if (e.getExpression().getText() !== className) continue;
      const arg = e.getArguments()[index];
      if (!arg) continue;
      let decl: Node | null = null;
      if (Node.isIdentifier(arg)) {
        let sym = arg.getSymbol();
        if (sym?.isAlias()) sym = sym.getAliasedSymbol() ?? sym;
        decl = sym?.getDeclarations()[0] ?? null;
      }
      const inAgent = !!decl && path.resolve(decl.getSourceFile().getFilePath()) === agentAbs;
      out.push({ file: path.relative(root, u.file).split(path.sep).join('/'), line: e.getStartLineNumber(), text: e.getText(), arg, decl, inAgent });
    }
  }
  return out;
}

/**
 * `fetch(`${url}/register`, { method: 'POST', ... })` in another file of the repository that builds
 * the agent (`new X(...)`, `X.create(...)` of a factory: buildsAgent) and starts it (`.start()`, `.run()`): the starter
 * registers the service itself (its main.ts, a bin script), once or again on a timer. Each such
 * request, with the lines that call the function around it and whether a timer (`setInterval`,
 * `setTimeout`) does.
 */
export function starterRegistrations(root: string, file: string, className: string, agentText?: string): Array<OutsideCaller & { callers: number[]; timers: number[]; fields: string[]; registeredAs?: string }> {
  const out: Array<OutsideCaller & { callers: number[]; timers: number[]; fields: string[]; registeredAs?: string }> = [];
  const factories = agentFactories(root, file, className, agentText);
  for (const { file: f, text } of agentUsers(root, file, className)) {
    const own = /\/register\b/.test(text) && requestsIn(text).length > 0;
    if (!own && !/\bimport\b[^;]*\bfrom\s*['"]\.|\brequire\(\s*['"]\./.test(text)) continue;
    const sf = standaloneSource('starter', f, text);
    const calls = sf.getDescendantsOfKind(ts.SyntaxKind.CallExpression);
    const instances = new Set(sf.getDescendantsOfKind(ts.SyntaxKind.VariableDeclaration).filter((v) => !!v.getInitializer() && buildsAgent(v.getInitializer()!, className, factories) && Node.isIdentifier(v.getNameNode())).map((v) => v.getName()));
    if (instances.size === 0) continue;
    if (!calls.some((c) => startsInstance(c, instances, (n) => buildsAgent(n, className, factories)))) continue;
    // `registerService(REGISTRY_URL, { name: 'presence-tracker', ... })` imported from ../lib/registry,
    // whose function POSTs to `${url}/register`: a registration as much as the file's own fetch.
    // (Read once the file is known to start the agent: it reads and parses the imported modules.)
    const imported = importedRegistrars(f, sf);
    if (!own && imported.size === 0) continue;
    // What sends a request: fetch(), http.request / https.request, or a function of the file wrapping one (`postJson(url, body)`).
    const wrappers = [...moduleFunctions(sf)].filter(([, fn]) => requestsIn(fn.getText()).length > 0).map(([name]) => name);
    const senders = new Set(wrappers);
    for (const call of calls) {
      const callee = call.getExpression().getText();
      const helper = imported.has(callee);
      if (!helper && !senders.has(callee) && !requestsIn(`${callee}(`).length) continue;
      const url = call.getArguments()[0];
      // The registration itself, not its deregistration: the path ends in /register.
      if (!helper && (!url || !/\/register['"`]?\s*\)?\s*$/.test(url.getText().replace(/\s+/g, '')))) continue;
      // Its function, by name: where the file calls it, and which of those calls a timer makes.
      const fn = call.getFirstAncestor((a) => Node.isFunctionDeclaration(a) || ((Node.isArrowFunction(a) || Node.isFunctionExpression(a)) && Node.isVariableDeclaration(a.getParent())));
      const name = !fn ? undefined : Node.isFunctionDeclaration(fn) ? fn.getName() : (fn.getParent() as import('ts-morph').VariableDeclaration).getName();
      const uses = name ? calls.filter((c) => c.getExpression().getText() === name && !(fn!.getPos() <= c.getPos() && c.getEnd() <= fn!.getEnd())) : [];
      const timed = (n: Node) => !!n.getFirstAncestor((a) => Node.isCallExpression(a) && /^(setInterval|setTimeout)$/.test(a.getExpression().getText()));
      // Called inside a timer's callback, or handed to the timer itself (`setInterval(register, 15_000)`).
      const handed = name ? calls.filter((c) => /^(setInterval|setTimeout)$/.test(c.getExpression().getText()) && c.getArguments()[0]?.getText() === name) : [];
      const timers = [...uses.filter(timed), ...handed].map((c) => c.getStartLineNumber());
      // The record it sends (the literal naming the service): its fields, and the name it registers under.
      const record = call.getDescendantsOfKind(ts.SyntaxKind.ObjectLiteralExpression).find((o) => o.getProperty('name'));
      const fields = record ? record.getProperties().map((p) => (Node.isPropertyAssignment(p) || Node.isShorthandPropertyAssignment(p) ? p.getName() : p.getText())) : [];
      const nameProp = record?.getProperty('name');
      const registeredAs = nameProp && Node.isPropertyAssignment(nameProp) ? nameProp.getInitializer()?.getText() : undefined;
      out.push({ file: path.relative(root, f).split(path.sep).join('/'), line: call.getStartLineNumber(), text: call.getText().split('\n')[0]!.trim(), callers: uses.map((c) => c.getStartLineNumber()), timers, fields, registeredAs });
    }
  }
  return out;
}

/**
 * The functions a file imports by name from a module of the repository (`import { registerService } from
 * '../lib/registry'`, `const { registerService } = require('../lib/registry')`) whose own code sends a
 * request to a path ending in /register (`${registryUrl}/register`): local names of those imports.
 */
function importedRegistrars(file: string, sf: import('ts-morph').SourceFile): Set<string> {
  const out = new Set<string>();
  const named: Array<{ local: string; name: string; spec: string }> = [];
  for (const d of sf.getImportDeclarations()) {
    const spec = d.getModuleSpecifierValue();
    if (!spec.startsWith('.') || d.isTypeOnly()) continue;
    for (const n of d.getNamedImports()) if (!n.isTypeOnly()) named.push({ local: n.getAliasNode()?.getText() ?? n.getName(), name: n.getName(), spec });
  }
  for (const v of sf.getDescendantsOfKind(ts.SyntaxKind.VariableDeclaration)) {
    const init = v.getInitializer();
    const pattern = v.getNameNode();
    if (!init || !Node.isCallExpression(init) || init.getExpression().getText() !== 'require' || !Node.isObjectBindingPattern(pattern)) continue;
    const arg = init.getArguments()[0];
    if (!arg || !Node.isStringLiteral(arg) || !arg.getLiteralText().startsWith('.')) continue;
    for (const el of pattern.getElements()) named.push({ local: el.getName(), name: el.getPropertyNameNode()?.getText() ?? el.getName(), spec: arg.getLiteralText() });
  }
  // Each module once, with its own functions that send a request (`post(url, body)` wrapping http.request).
  const modules = new Map<string, { sf: import('ts-morph').SourceFile; senders: string[] } | null>();
  for (const { local, name, spec } of named) {
    if (!modules.has(spec)) {
      const c = importedFile(path.resolve(path.dirname(file), spec), { code: true });
      const t = c !== null && /\.[cm]?[jt]s$/.test(c) ? textOf(c) : null;
      let found: { sf: import('ts-morph').SourceFile; senders: string[] } | null = null;
      if (t !== null) {
        const msf = standaloneSource('registrar', c!, t);
        found = { sf: msf, senders: [...moduleFunctions(msf)].filter(([, fn]) => requestsIn(fn.getText()).length > 0).map(([n]) => n) };
      }
      modules.set(spec, found);
    }
    const m = modules.get(spec);
    const fn = m?.sf.getFunction(name) ?? m?.sf.getVariableDeclaration(name)?.getInitializer();
    if (!fn) continue;
    const body = fn.getText();
    // A request of its own (fetch, http.request, or a function of its module sending one) to a path ending in /register.
    const sends = requestsIn(body).length > 0 || m!.senders.some((w) => w !== name && new RegExp(`(^|[^\\w$.])${w.replace(/\$/g, '\\$')}\\s*\\(`).test(body));
    if (/[`'"/]\/register\b|\/register[`'"]/.test(body) && sends) out.add(local);
  }
  return out;
}

/**
 * The agent's alternate constructors: the static methods of its class that return a new instance
 * (`static async create(cfg) { const relay = new AlertRelay(cfg); await relay.load(); return relay; }`,
 * `return new this(cfg)`) or are declared to (`: AlertRelay`, `: Promise<AlertRelay>`), read from the
 * agent's file (its legacy file for a `_v2`). Any other static (`AlertRelay.describe()`) builds none.
 * Asked lazily, once per search: most users build the agent with `new`.
 */
function agentFactories(root: string, file: string, className: string, agentText?: string): () => ReadonlySet<string> {
  let found: Set<string> | undefined;
  return () => {
    if (found) return found;
    found = new Set();
    const agentAbs = path.resolve(root, file).replace(/_v2(\.[cm]?[jt]sx?)$/, '$1');
    // The text the rewrite was handed when it has one (the pipeline's, or a test's whose agent is not on disk at its path).
    const text = agentText ?? textOf(agentAbs);
    const cls = text === null ? undefined : fileClasses(standaloneSource('agent', agentAbs, text)).find((c) => c.name === className)?.cls;
    const instance = (e: Node | undefined): boolean => {
      while (e && (Node.isAwaitExpression(e) || Node.isParenthesizedExpression(e))) e = e.getExpression();
      return !!e && Node.isNewExpression(e) && [className, 'this'].includes(e.getExpression().getText());
    };
    for (const m of cls?.getStaticMethods() ?? []) {
      const declared = m.getReturnTypeNode()?.getText().replace(/\s+/g, '');
      const own = (r: Node) => r.getFirstAncestor((a) => Node.isFunctionLikeDeclaration(a) || Node.isArrowFunction(a) || Node.isFunctionExpression(a)) === m;
      const returnsOne = m.getDescendantsOfKind(ts.SyntaxKind.ReturnStatement).filter(own).some((r) => {
        const e = r.getExpression();
        if (instance(e)) return true;
        // `const relay = new AlertRelay(cfg); ...; return relay;`
        const decl = e && Node.isIdentifier(e) ? e.getSymbol()?.getDeclarations()[0] : undefined;
        return !!decl && Node.isVariableDeclaration(decl) && own(decl) && instance(decl.getInitializer());
      });
      if (returnsOne || declared === className || declared === `Promise<${className}>`) found.add(m.getName());
    }
    return found;
  };
}

/** `new X(...)`, or `X.create(...)` where create is one of its factories (agentFactories), awaited or not: an instance of the agent. */
function buildsAgent(n: Node, className: string, factories: () => ReadonlySet<string>): boolean {
  let e: Node = n;
  while (Node.isAwaitExpression(e) || Node.isParenthesizedExpression(e)) e = e.getExpression();
  if (Node.isNewExpression(e)) return e.getExpression().getText() === className;
  const callee = Node.isCallExpression(e) ? e.getExpression() : undefined;
  return !!callee && Node.isPropertyAccessExpression(callee) && callee.getExpression().getText() === className && factories().has(callee.getName());
}
