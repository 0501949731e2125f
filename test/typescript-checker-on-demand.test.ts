// A TypeScript rewrite's checker (its program, bound on the first getSymbol()) is built only when a
// name can resolve to what the asking rule looks for: in the rewrite's one-file project, a name that
// no top-level statement (moduleFunction, readsRegistryEnv) or no variable declaration (heldWork) of
// the file declares cannot, and the checker is not asked. Anywhere else the checker answers as before.
import { describe, expect, it } from 'vitest';
import { Node, Project, SyntaxKind, type CallExpression, type SourceFile } from 'ts-morph';
import { parseTs } from '../src/lang/typescript/rewrite.js';
import { mayBeTopLevel, mayBeVariable, moduleFunction } from '../src/lang/typescript/syntax.js';

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
});
