// What a lazy flat tree could save on the Python input, measured before building one (issue 15,
// the peer: the engine restricted to add-the-base / add-its-import against ast-grep). In one
// process, on a generated fleet's Python agents, per round and in CPU-ms:
//   parse      tree-sitter's parse of every file (the floor, unchanged by any flat tree);
//   eager      the FlatTree cursor walk of every node (what a run does today);
//   structure  a tree read level by level, only what add-the-base / add-its-import and the module
//              model read: the module's top level, class bodies, and each def's header (its body
//              is left unread);
//   search     structure, plus tree-sitter's own search (descendantsOfType) of every def body for
//              the types the agent model asks (assignments, nested defs and classes): how a typed
//              walk over an unread body would learn where its nodes are;
//   spines     search, plus the levels opened from each body down to each node found (the node's
//              position and its ancestors, which its readers need);
//   filled     spines, plus each found assignment's own subtree (what the agent model reads of it).
// It first checks the premise of any lazy tree here: FlatTree's pre-order positions are the
// binding's descendant indices (TreeCursor.currentDescendantIndex / gotoDescendant), so a subtree
// read later lands at the positions a whole walk gives it. Exits 1 when they differ.
//
//   node dist/test/bench/lazy-probe.js [--agents 100] [--rounds 3]
import { createRequire } from 'node:module';
import type Parser from 'tree-sitter';
import { FlatTree } from '../../src/lang/python/flat-tree.js';
import { pythonLanguage } from '../../src/lang/python/parser.js';
import { fleetFiles } from './fleet/fleet.js';

const arg = (name: string, fallback: number) => {
  const at = process.argv.indexOf(name);
  return at > 0 ? Number(process.argv[at + 1]) : fallback;
};
const files = fleetFiles(arg('--agents', 100), {}).filter((f) => f.language === 'python');
const language = pythonLanguage();
const TreeSitter = createRequire(import.meta.url)('tree-sitter') as typeof Parser;
const parser = new TreeSitter();
parser.setLanguage(language as Parser.Language);
const parse = (s: string) => parser.parse(s, undefined, { bufferSize: Math.max(64 * 1024, s.length * 2 + 1024) });
const cpuMs = () => {
  const c = process.cpuUsage();
  return (c.user + c.system) / 1000;
};

// The premise: every node's position, type and start agree between the flat walk and the binding.
let checked = 0;
let mismatches = 0;
for (const f of files) {
  const native = parse(f.text);
  const flat = new FlatTree(native, f.text, language);
  if (native.rootNode.descendantCount !== flat.count) mismatches++;
  const cursor = native.walk();
  for (let i = 0; i < flat.count; i++) {
    cursor.gotoDescendant(i);
    checked++;
    if (cursor.currentDescendantIndex !== i || cursor.nodeTypeId !== flat.typeId[i] || cursor.startIndex !== flat.start[i] || cursor.endIndex !== flat.end[i]) mismatches++;
  }
}
console.log(`positions checked: ${checked}, differing from the binding's descendant index: ${mismatches}`);
if (mismatches) process.exit(1);

const vocabulary = new FlatTree(parse(files[0]!.text), files[0]!.text, language).vocabulary;
const typeId = (name: string) => vocabulary.typeNames.indexOf(name);
const [CLASS, FUNCTION, DECORATED, BLOCK, PARAMETERS] = ['class_definition', 'function_definition', 'decorated_definition', 'block', 'parameters'].map(typeId);
const AGENT_MODEL_TYPES = ['assignment', 'augmented_assignment', 'class_definition', 'function_definition'];
type Mode = 'structure' | 'search' | 'spines' | 'filled';
/** A node's record as a flat tree holds it (its field id too). */
interface Child {
  pos: number;
  type: number;
  start: number;
  end: number;
  field: number | undefined;
}

/** One lazy reading of a tree in `mode`; returns the nodes read and the levels opened. */
function lazyRead(native: Parser.Tree, mode: Mode): { read: number; opens: number; found: number } {
  const cursor = native.walk();
  const levels = new Map<number, Child[]>();
  let read = 0;
  let found = 0;
  const open = (pos: number): Child[] => {
    let kids = levels.get(pos);
    if (kids) return kids;
    kids = [];
    cursor.gotoDescendant(pos);
    if (cursor.gotoFirstChild()) {
      do {
        kids.push({ pos: cursor.currentDescendantIndex, type: cursor.nodeTypeId, start: cursor.startIndex, end: cursor.endIndex, field: cursor.currentFieldId });
        read++;
      } while (cursor.gotoNextSibling());
    }
    levels.set(pos, kids);
    return kids;
  };
  const fill = (pos: number) => {
    cursor.gotoDescendant(pos);
    const depth = cursor.currentDepth;
    if (!cursor.gotoFirstChild()) return;
    for (;;) {
      read++;
      void [cursor.nodeTypeId, cursor.startIndex, cursor.endIndex, cursor.currentFieldId];
      if (cursor.gotoFirstChild()) continue;
      while (!cursor.gotoNextSibling()) {
        cursor.gotoParent();
        if (cursor.currentDepth === depth) return;
      }
    }
  };
  const bodies: number[] = [];
  const visit = (pos: number, inClass: boolean) => {
    for (const c of open(pos)) {
      if (c.type === CLASS || c.type === DECORATED) visit(c.pos, true);
      else if (c.type === BLOCK && inClass) visit(c.pos, true);
      else if (c.type === FUNCTION) {
        for (const g of open(c.pos)) {
          if (g.type === BLOCK) bodies.push(g.pos);
          else if (g.type === PARAMETERS) open(g.pos);
        }
      }
    }
  };
  visit(0, false);
  if (mode !== 'structure') {
    for (const body of bodies) {
      cursor.gotoDescendant(body);
      for (const m of cursor.currentNode.descendantsOfType(AGENT_MODEL_TYPES)) {
        found++;
        if (mode === 'search') continue;
        const { startIndex: s, endIndex: e, typeId: type } = m;
        let at = body;
        for (;;) {
          const kid = open(at).find((k) => k.start <= s && e <= k.end);
          if (!kid) break;
          at = kid.pos;
          if (kid.start === s && kid.end === e && kid.type === type) break;
        }
        if (mode === 'filled' && type !== FUNCTION && type !== CLASS) fill(at);
      }
    }
  }
  return { read, opens: levels.size, found };
}

const rounds = arg('--rounds', 3);
const modes: Mode[] = ['structure', 'search', 'spines', 'filled'];
for (let round = 1; round <= rounds; round++) {
  let t = cpuMs();
  const trees = files.map((f) => parse(f.text));
  const row: Record<string, number | string> = { round, files: files.length, parse: Math.round(cpuMs() - t) };
  t = cpuMs();
  let nodes = 0;
  trees.forEach((tree, k) => (nodes += new FlatTree(tree, files[k]!.text, language).count));
  row.eager = Math.round(cpuMs() - t);
  row.nodes = nodes;
  for (const mode of modes) {
    t = cpuMs();
    let read = 0;
    for (const tree of trees) read += lazyRead(tree, mode).read;
    row[mode] = Math.round(cpuMs() - t);
    row[`${mode} nodes read`] = read;
  }
  console.log(JSON.stringify(row));
}
