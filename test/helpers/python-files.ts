import { readdirSync, statSync } from 'node:fs';
import path from 'node:path';

/** Every Python file under dir, but the huge ones (the 2 MB agent, a lookup table, would take most of a minute to walk through the binding). */
export function pythonFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory() && e.name !== 'node_modules' && e.name !== '__pycache__') out.push(...pythonFiles(p));
    else if (e.name.endsWith('.py') && statSync(p).size < 256 * 1024) out.push(p);
  }
  return out;
}
