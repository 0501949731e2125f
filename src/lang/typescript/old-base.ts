// Older in-repo bases that a base-to-base profile maps onto the new base: which profile applies
// to a class's parent (by the parent's name and the module it is imported from), and what the
// old base's own source says — its members (so uses of members only it had are found), and
// which of its constructor parameters it stored as members (those are carried into the agent).
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { Node, Project, Scope, SyntaxKind, type SourceFile } from 'ts-morph';
import { rebaseProfiles, type FromBaseProfile, type Profile } from '../../profile/profile.js';
import { fileClasses } from './syntax.js';
import { forgetOnReset } from '../../core/invocation.js';
import { importedFile } from './imported-file.js';

export interface OldBaseParam {
  name: string;
  /** Type text as the old base wrote it (type parameters not yet substituted), or null in JavaScript. */
  type: string | null;
  optional: boolean;
  readonly: boolean;
  initializer: string | null;
  /** The member the old constructor stored the parameter in (`this.options = options`, `protected options`). */
  stored: string | null;
}

export interface OldMember {
  kind: 'method' | 'property';
  /** A field's declaration as the old base wrote it, without modifiers: `running = false`, `retries: number = 3`. */
  field?: string;
  /**
   * A method with a body: its text as the old base wrote it (from its modifiers on, later lines
   * still indented as in the old file), that indentation, and the `this.x` names its body reads.
   */
  method?: { text: string; indent: string; uses: string[] };
}

export interface OldBase {
  className: string;
  /** The base-to-base profile that maps it. */
  profile: Profile;
  from: FromBaseProfile;
  /** Keys of the object passed to the old base's constructor → the new base's option keys. */
  options: Record<string, string>;
  hooks: Record<string, string>;
  runningFlag: string | null;
  /** Members only the old base had → an expression on the new base, or null (reported at each use). */
  memberMap: Record<string, string | null>;
  /** Members the old base declares (from its source; empty when the source was not found). */
  members: Map<string, OldMember>;
  /** The old constructor's parameters, in order (empty when unknown). */
  params: OldBaseParam[];
  /** The old base's type parameter names (`BaseService<TOptions>` → ['TOptions']). */
  typeParams: string[];
  /** Hooks the old base calls inside a loop of its own (those map to runOnce; the others run once). */
  loopedHooks: Set<string>;
  /** Where its source was found (absolute), or null. */
  file: string | null;
}

/** The module a class name in a file comes from: import/require specifier and the exported name. */
export function importOf(sf: SourceFile, local: string): { specifier: string; imported: string } | null {
  for (const d of sf.getImportDeclarations()) {
    if (d.getDefaultImport()?.getText() === local) return { specifier: d.getModuleSpecifierValue(), imported: 'default' };
    for (const n of d.getNamedImports()) {
      if ((n.getAliasNode() ?? n.getNameNode()).getText() === local) return { specifier: d.getModuleSpecifierValue(), imported: n.getName() };
    }
  }
  for (const s of sf.getStatements()) {
    if (Node.isImportEqualsDeclaration(s) && s.getName() === local) {
      const m = /^require\((['"])(.+)\1\)$/.exec(s.getModuleReference().getText());
      if (m) return { specifier: m[2]!, imported: 'default' };
    }
  }
  for (const d of sf.getVariableDeclarations()) {
    const init = d.getInitializer()?.getText().replace(/\s+/g, '') ?? '';
    const m = /^require\((['"])(.+?)\1\)(?:\.([A-Za-z_$][\w$]*))?$/.exec(init);
    if (!m) continue;
    const nameNode = d.getNameNode();
    if (Node.isIdentifier(nameNode) && nameNode.getText() === local) return { specifier: m[2]!, imported: m[3] ?? 'default' };
    if (Node.isObjectBindingPattern(nameNode)) {
      for (const el of nameNode.getElements()) {
        if (el.getName() === local) return { specifier: m[2]!, imported: el.getPropertyNameNode()?.getText() ?? el.getName() };
      }
    }
  }
  return null;
}

/** The base-to-base mapping for a class's parent expression, or null when no profile maps it. */
export function findOldBase(root: string, file: string, expr: Node, profile: Profile): OldBase | null {
  const local = Node.isIdentifier(expr) ? expr.getText() : Node.isPropertyAccessExpression(expr) ? expr.getName() : null;
  if (!local) return null;
  const sf = expr.getSourceFile();
  const origin = Node.isIdentifier(expr) ? importOf(sf, local) : null;
  const exported = origin && origin.imported !== 'default' ? origin.imported : local;
  for (const p of rebaseProfiles(profile, root)) {
    const from = p.from_base!;
    if (exported !== from.class && local !== from.class) continue;
    if (from.modules && origin && !from.modules.some((m) => lastSegment(origin.specifier) === m)) continue;
    const source = origin && origin.specifier.startsWith('.') ? resolveModule(path.dirname(file), origin.specifier) : null;
    return build(p, from, source, origin?.imported === 'default' ? null : from.class);
  }
  return null;
}

function lastSegment(spec: string): string {
  return spec.replace(/\/index(\.[cm]?[jt]s)?$/, '').split('/').pop()!.replace(/\.[cm]?[jt]sx?$/, '');
}

/** The file a relative specifier names from `dir`, with code (see importedFile). */
export function resolveModule(dir: string, spec: string): string | null {
  return importedFile(path.resolve(dir, spec), { code: true });
}

const cache = new Map<string, { mtime: number; base: OldBase }>();
forgetOnReset(() => cache.clear());

function build(profile: Profile, from: FromBaseProfile, file: string | null, className: string | null): OldBase {
  const empty: OldBase = {
    className: from.class,
    profile,
    from,
    options: from.options ?? {},
    hooks: from.hooks ?? {},
    runningFlag: from.running_flag ?? null,
    memberMap: from.members ?? {},
    members: new Map(),
    params: [],
    typeParams: [],
    loopedHooks: new Set(),
    file,
  };
  if (!file) return empty;
  const key = `${profile.file}\0${file}`;
  const mtime = statSync(file).mtimeMs;
  const hit = cache.get(key);
  if (hit && hit.mtime === mtime) return hit.base;
  const project = new Project({ useInMemoryFileSystem: true, compilerOptions: { allowJs: true } });
  const sf = project.createSourceFile(`/old-base${path.extname(file)}`, readFileSync(file, 'utf8'));
  const cls = fileClasses(sf).find((c) => c.name === (className ?? from.class)) ?? fileClasses(sf).find((c) => c.name === from.class);
  const base = { ...empty };
  if (cls) {
    const members = new Map<string, OldMember>();
    for (const m of cls.cls.getMembers()) {
      if (Node.isConstructorDeclaration(m)) {
        const body = m.getBody();
        const stores = new Map<string, string>();
        if (body && Node.isBlock(body)) {
          for (const st of body.getStatements()) {
            const e = Node.isExpressionStatement(st) ? st.getExpression() : null;
            if (!e || !Node.isBinaryExpression(e) || e.getOperatorToken().getKind() !== SyntaxKind.EqualsToken) continue;
            const left = e.getLeft();
            if (Node.isPropertyAccessExpression(left) && left.getExpression().getKind() === SyntaxKind.ThisKeyword) {
              if (!members.has(left.getName())) members.set(left.getName(), { kind: 'property' });
              if (Node.isIdentifier(e.getRight())) stores.set(e.getRight().getText(), left.getName());
            }
          }
        }
        base.params = m.getParameters().map((p) => {
          const stored = p.isParameterProperty() && p.getScope() !== Scope.Private ? p.getName() : stores.get(p.getName()) ?? null;
          if (p.isParameterProperty()) members.set(p.getName(), { kind: 'property' });
          return { name: p.getName(), type: p.getTypeNode()?.getText() ?? null, optional: p.isOptional(), readonly: p.isReadonly(), initializer: p.getInitializer()?.getText() ?? null, stored };
        });
        continue;
      }
      const name = Node.isMethodDeclaration(m) || Node.isPropertyDeclaration(m) || Node.isGetAccessorDeclaration(m) || Node.isSetAccessorDeclaration(m) ? m.getName() : null;
      if (!name || name.startsWith('#')) continue;
      if (Node.isPropertyDeclaration(m) && m.getInitializer()) {
        const type = m.getTypeNode()?.getText();
        members.set(name, { kind: 'property', field: `${name}${type ? `: ${type}` : ''} = ${m.getInitializer()!.getText()}` });
      } else if (Node.isMethodDeclaration(m) && m.getBody() && !m.isAbstract()) {
        const uses = new Set<string>();
        m.getBody()!.forEachDescendant((d) => {
          if (Node.isPropertyAccessExpression(d) && d.getExpression().getKind() === SyntaxKind.ThisKeyword) uses.add(d.getName());
          else if (d.getKind() === SyntaxKind.ThisKeyword && !Node.isPropertyAccessExpression(d.getParent())) uses.add('this');
        });
        const lineStart = sf.getFullText().lastIndexOf('\n', m.getStart()) + 1;
        const indent = /^[ \t]*/.exec(sf.getFullText().slice(lineStart))![0];
        members.set(name, { kind: 'method', method: { text: m.getText(), indent, uses: [...uses] } });
      } else members.set(name, { kind: Node.isMethodDeclaration(m) ? 'method' : 'property' });
    }
    base.members = members;
    base.typeParams = cls.cls.getTypeParameters().map((t) => t.getName());
    const looped = new Set<string>();
    cls.cls.forEachDescendant((n) => {
      if (!Node.isCallExpression(n)) return;
      const e = n.getExpression();
      if (!Node.isPropertyAccessExpression(e) || e.getExpression().getKind() !== SyntaxKind.ThisKeyword) return;
      if (n.getFirstAncestor((a) => Node.isWhileStatement(a) || Node.isDoStatement(a) || Node.isForStatement(a))) looped.add(e.getName());
    });
    base.loopedHooks = looped;
  }
  cache.set(key, { mtime, base });
  return base;
}
