// The parsed library declarations (lib.*.d.ts, @types/node) one process keeps for every
// TypeScript project it makes (src/lang/typescript/project.ts): each project is handed the same
// parse, and a project releasing one of them must not reach ts-morph's document registry, which
// would drop or reuse, under the other projects, a file it does not own (a no-op in ts-morph 28,
// not in a registry that counts references).
import { describe, expect, it } from 'vitest';
import { Project } from 'ts-morph';
import { compilerOptionsFor, shareLibraryDeclarations } from '../src/lang/typescript/project.js';

type Registry = Record<'releaseDocument' | 'releaseDocumentWithKey', (fileName: string, ...rest: unknown[]) => unknown>;
const registryOf = (p: Project) => (p as unknown as { _context: { compilerFactory: { documentRegistry: Registry } } })._context.compilerFactory.documentRegistry;

function project(): Project {
  const p = new Project({ compilerOptions: compilerOptionsFor('/tmp'), useInMemoryFileSystem: false, skipAddingFilesFromTsConfig: true });
  p.createSourceFile('/tmp/shared-declarations-probe/agent.ts', "import { readFileSync } from 'node:fs';\nexport const n: number = readFileSync('/x').length;\n", { overwrite: true });
  return p;
}

const nodeFs = (p: Project) =>
  p
    .getProgram()
    .compilerObject.getSourceFiles()
    .find((f) => /\/node_modules\/@types\/node\/fs\.d\.ts$/.test(f.fileName));

describe('library declarations shared between projects', () => {
  it('two projects get one parse of @types/node, and releases of it stop at the cache', () => {
    const calls: string[] = [];
    const a = project();
    const registry = registryOf(a);
    // What a reference-counting registry would do on release: record it.
    for (const name of ['releaseDocument', 'releaseDocumentWithKey'] as const) registry[name] = (fileName: string) => void calls.push(`${name} ${fileName}`);
    shareLibraryDeclarations(a);
    const b = project();
    shareLibraryDeclarations(b);

    const first = nodeFs(a);
    expect(first, 'the probe file imports node:fs').toBeDefined();
    expect(nodeFs(b)).toBe(first);
    expect(a.getProgram().compilerObject.getSemanticDiagnostics().map((d) => d.messageText)).toEqual([]);

    registry.releaseDocument(first!.fileName, {});
    registry.releaseDocumentWithKey(first!.fileName, 'key');
    expect(calls, 'a kept declaration is not released').toEqual([]);
    // The project's own files are released as before.
    registry.releaseDocument('/tmp/shared-declarations-probe/agent.ts', {});
    expect(calls).toEqual(['releaseDocument /tmp/shared-declarations-probe/agent.ts']);
  });
});
