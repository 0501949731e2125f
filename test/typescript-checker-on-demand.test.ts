// A TypeScript rewrite's checker (its program, bound on the first getSymbol()) is built only when a
// name can resolve to what the asking rule looks for: in the rewrite's one-file project, a name that
// no top-level statement (moduleFunction, readsRegistryEnv) or no variable declaration (heldWork) of
// the file declares cannot, and the checker is not asked. Anywhere else the checker answers as before.
import { describe, expect, it } from 'vitest';
import { Node, Project, SyntaxKind, type CallExpression, type SourceFile } from 'ts-morph';
import { parseTs } from '../src/lang/typescript/rewrite.js';
import { mayBeTopLevel, mayBeVariable, moduleFunction, topLevelVariableRead } from '../src/lang/typescript/syntax.js';

const source = `
function stamp() { return new Date().toISOString(); }
const log = (msg: string) => console.log(\`\${stamp()} \${msg}\`);
export class Agent {
  jobs = new Set<Promise<void>>();
  run(send: (s: string) => void) {
    const job = this.work();
    this.jobs.add(job);
    send('x');
    log('started');
    undeclared();
  }
  shadow(log: (s: string) => void) {
    log('shadowed');
  }
  async work() {}
}
declare function undeclared(): void;
`;

function calls(sf: SourceFile, name: string): CallExpression[] {
  return sf.getDescendantsOfKind(SyntaxKind.CallExpression).filter((c) => c.getExpression().getText() === name);
}
const checkerBuilt = (sf: SourceFile) => (sf.getProject().getProgram() as unknown as { _isCompilerProgramCreated(): boolean })._isCompilerProgramCreated();

describe('the rewrite asks its checker only for names its file can declare', () => {
  it('reads a name no top-level statement declares without building the checker', () => {
    const { sf } = parseTs('agent.ts', source);
    expect(moduleFunction(calls(sf, 'send')[0]!)).toBeUndefined();
    expect(checkerBuilt(sf)).toBe(false);
    // (An ambient declaration is no module function either, with or without the checker.)
    expect(moduleFunction(calls(sf, 'undeclared')[0]!)).toBeUndefined();
  });

  it('still finds a top-level function and const arrow, and a parameter shadowing one is not it', () => {
    const { sf } = parseTs('agent.ts', source);
    const [inRun, inShadow] = calls(sf, 'log');
    const found = moduleFunction(inRun!);
    expect(found && Node.isArrowFunction(found)).toBe(true);
    expect(checkerBuilt(sf)).toBe(true);
    expect(moduleFunction(calls(sf, 'stamp')[0]!)?.getKind()).toBe(SyntaxKind.FunctionDeclaration);
    expect(moduleFunction(inShadow!)).toBeUndefined();
  });

  it('says which identifiers can name a top-level declaration or a variable', () => {
    const { sf } = parseTs('agent.ts', source);
    const id = (name: string) => sf.getDescendantsOfKind(SyntaxKind.Identifier).find((i) => i.getText() === name)!;
    expect(mayBeTopLevel(id('log'))).toBe(true);
    expect(mayBeTopLevel(id('job'))).toBe(false);
    expect(mayBeVariable(id('job'))).toBe(true);
    expect(mayBeVariable(id('send'))).toBe(false);
  });

  it('asks the checker in a project of several files, where another script file declares globals', () => {
    const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } });
    project.createSourceFile('/helpers.js', 'function postJson(url, payload) { return fetch(url, { method: "POST", body: JSON.stringify(payload) }); }\n');
    const sf = project.createSourceFile('/agent.js', 'postJson("http://r/deregister", { name: "a" });\n');
    const call = calls(sf, 'postJson')[0]!;
    expect(mayBeTopLevel(call.getExpression() as never)).toBe(true);
    expect(moduleFunction(call)?.getSourceFile().getFilePath()).toBe('/helpers.js');
  });

  // readsRegistryEnv: `fetch(REGISTRY_URL, ...)` reading `const REGISTRY_URL = process.env.REGISTRY_URL ?? ...`.
  const registry = `
import { EventEmitter } from 'node:events';
const REGISTRY_URL = process.env.REGISTRY_URL ?? 'http://127.0.0.1:7070/register';
const TWICE = 'a';
const cfg = { REGISTRY: 'x' };
export class Agent extends EventEmitter {
  TWICE = 1;
  async register() {
    const res = await fetch(REGISTRY_URL, { method: 'POST' });
    const url = \`\${REGISTRY_URL}/x\`;
    const copy = { REGISTRY_URL };
    console.log(TWICE, cfg.REGISTRY, url, copy, res);
  }
}
`;
  const ids = (sf: SourceFile, name: string) => sf.getDescendantsOfKind(SyntaxKind.Identifier).filter((i) => i.getText() === name);

  it('reads a top-level variable from the syntax where only it can answer, without building the checker', () => {
    const { sf } = parseTs('agent.ts', registry);
    const [, inEnv, inFetch, inTemplate, inShorthand] = ids(sf, 'REGISTRY_URL');
    for (const id of [inFetch!, inTemplate!]) expect(topLevelVariableRead(id)?.name.getText()).toBe('REGISTRY_URL');
    expect(checkerBuilt(sf)).toBe(false);
    // Where the syntax does not settle it, it says so (the checker is asked): a shorthand property,
    // a property name, a name the file declares twice (a member too), a parameter anywhere shadowing it.
    expect(topLevelVariableRead(inShorthand!)).toBeNull();
    expect(topLevelVariableRead(inEnv!)).toBeNull();
    expect(topLevelVariableRead(ids(sf, 'REGISTRY').at(-1)!)).toBeNull();
    expect(topLevelVariableRead(ids(sf, 'TWICE').at(-1)!)).toBeNull();
    const shadowed = parseTs('agent.ts', registry.replace('async register() {', 'shadowed(REGISTRY_URL: string) {\n    return fetch(REGISTRY_URL);\n  }\n  async register() {'));
    expect(ids(shadowed.sf, 'REGISTRY_URL').map((id) => topLevelVariableRead(id))).toEqual([null, null, null, null, null, null, null]);
    // Each answer it gives is the checker's.
    for (const id of [inFetch!, inTemplate!]) expect(id.getSymbol()?.getDeclarations()[0]?.compilerNode).toBe(topLevelVariableRead(id));
  });

  it('asks the checker for a script file (its top level is global) and in a project of several files', () => {
    const script = parseTs('agent.ts', registry.replace(/^import .*$/m, '').replace('export class', 'class'));
    expect(topLevelVariableRead(ids(script.sf, 'REGISTRY_URL')[2]!)).toBeNull();
    // A JSDoc type of that name (a JavaScript file's `@typedef`) declares it too, out of the syntax walked.
    const typedef = parseTs('agent.js', registry.replace(/^const REGISTRY_URL/m, '/** @typedef {string} REGISTRY_URL */\nconst REGISTRY_URL').replace(/: string/g, ''));
    expect(topLevelVariableRead(ids(typedef.sf, 'REGISTRY_URL').at(-2)!)).toBeNull();
    const project = new Project({ useInMemoryFileSystem: true });
    const sf = project.createSourceFile('/agent.ts', registry);
    expect(topLevelVariableRead(ids(sf, 'REGISTRY_URL')[2]!)).toBeNull();
  });
});

