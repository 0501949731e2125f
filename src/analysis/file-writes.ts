// Files a piece of code writes. A health- or heartbeat-named method that writes one (a heartbeat file per
// peer a watchdog script reads, a liveness file a probe cats) leaves output no base makes: removing it
// with the health code would be a silent loss, whatever the method is called.
import type { SyntaxNode } from '../lang/python/parser.js';
import { callee, lineOf, stringValue, walkTypes } from '../lang/python/syntax.js';

/** Calls that write a file whatever their arguments (`os.replace`, `Path(...).write_text`). */
const WRITES_ALWAYS = /^(os\.(replace|rename|utime)|shutil\.(copy|copy2|copyfile|move))$|\.(write_text|write_bytes|touch)$/;

const CALLS: ReadonlySet<string> = new Set(['call']);

/**
 * The mode a call of open() is given (`open(p, "w")`, `open(p, mode="a")`), '' for none (read). A method's
 * open (`Path(...).open("w")`, `p.open("a")`: no module's function) takes the mode first, the file being its object.
 */
function openMode(call: SyntaxNode): string | null {
  const args = call.childForFieldName('arguments')?.namedChildren ?? [];
  const kw = args.find((a) => a.type === 'keyword_argument' && a.childForFieldName('name')?.text === 'mode');
  const fn = call.childForFieldName('function');
  const method = fn?.type === 'attribute' && !isImportedModule(fn.childForFieldName('object')!);
  const mode = kw ? kw.childForFieldName('value') : args.filter((a) => a.type !== 'keyword_argument')[method ? 0 : 1];
  if (!mode) return '';
  return stringValue(mode);
}

/** `io`, `gzip`, `os.path`...: a (dotted) name the module binds with an import statement (`import gzip`, `import lzma as xz`). */
function isImportedModule(obj: SyntaxNode): boolean {
  if (obj.type !== 'identifier' && obj.type !== 'attribute') return false;
  const head = obj.text.split('.')[0]!;
  if (head === 'builtins' || head === 'io') return true;
  let root = obj;
  while (root.parent) root = root.parent;
  let found = false;
  walkTypes(root, IMPORTS, (s) => {
    if (found) return false;
    for (const n of s.namedChildren) {
      const bound = n.type === 'aliased_import' ? n.childForFieldName('alias')?.text : n.text.split('.')[0];
      if (bound === head) found = true;
    }
  });
  return found;
}

const IMPORTS: ReadonlySet<string> = new Set(['import_statement']);

/**
 * The first call in `body` (closures and nested classes included) that writes a file, as `line N
 * (the call's text)`, else null. A mode that is not a literal string is taken as a write: the code
 * may write, and a kept method costs a review, a removed one the output.
 */
export function firstFileWrite(body: SyntaxNode): string | null {
  let found: SyntaxNode | null = null;
  walkTypes(body, CALLS, (n) => {
    if (found) return false;
    const name = callee(n) ?? '';
    if (WRITES_ALWAYS.test(name)) found = n;
    else if (/^(io\.|builtins\.)?open$|^os\.fdopen$|\.open$/.test(name) && name !== 'os.open' && !/^(socket|urllib|webbrowser|gzip\.GzipFile)/.test(name)) {
      const mode = openMode(n);
      if (mode === null || /[wax+]/.test(mode)) found = n;
    } else if (name === 'os.open') {
      const flags = n.childForFieldName('arguments')?.namedChildren[1]?.text ?? '';
      if (/O_(WRONLY|RDWR|CREAT|APPEND|TRUNC)/.test(flags)) found = n;
    }
  });
  if (!found) return null;
  const text = (found as SyntaxNode).text.replace(/\s+/g, ' ');
  return `line ${lineOf(found)} (${text.length > 60 ? `${text.slice(0, 57)}...` : text})`;
}
