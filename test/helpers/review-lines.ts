// A review item costs a person: the line it names must be the code it describes. Reasons quote code with its
// line in a few fixed ways (`line 141: interval = ...`, `line 100 (stub = ...)`, `` `sys.exit(130)`, line 88``,
// `agents/x.py:57: if ...`); each quoted line of the agent's own file must hold that code (a line of another
// file is named with its file). (An item's own line may be its blocker's, in another method: not checked.)

export interface ReviewItem {
  symbol: string;
  line: number;
  reason: string;
}

/**
 * The code a quote starts with: up to the parenthesis that closes the one around it (`line 100 (self.drain());
 * business code keeps it` quotes `self.drain()`), at most 16 characters (quotes are cut at 50-120).
 */
function head(quote: string): string {
  let depth = 0;
  let end = quote.length;
  for (let i = 0; i < quote.length; i++) {
    const ch = quote[i]!;
    if (ch === '(' || ch === '[' || ch === '{') depth++;
    else if (ch === ')' || ch === ']' || ch === '}') {
      if (--depth < 0) {
        end = i;
        break;
      }
    }
  }
  return quote.slice(0, end).trim().slice(0, 16);
}

/** Every (line, quoted code) a reason pairs, for the file `rel` (quotes that name another file are skipped). */
export function quotedLines(reason: string, rel: string): Array<{ line: number; code: string }> {
  const out: Array<{ line: number; code: string }> = [];
  const esc = rel.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  // A reason about another file (`bin/run.ts handles SIGTERM itself and ... runs line 16 (...)`) names that file's lines.
  const subject = /^((?:[\w.-]+\/)*[\w.-]+\.(?:py|ts|tsx|js|mjs|cjs))\b/.exec(reason)?.[1];
  const other = Boolean(subject && subject !== rel);
  // Lines named without a file are the agent's, unless the reason is about another file.
  if (!other) quotesOfTheAgentsFile(reason, out);
  // `agents/x.py:57: if ...` for the agent's own file.
  for (const m of reason.matchAll(new RegExp(`(?:^|[\\s(])${esc}:(\\d+): ([^\\s].*)`, 'g'))) out.push({ line: Number(m[1]), code: m[2]! });
  return out;
}

/** The quotes that name a line without a file: `line 141: x = ...`, `line 100 (x = ...)`, `` `x`, line 88 ``. */
function quotesOfTheAgentsFile(reason: string, out: Array<{ line: number; code: string }>): void {
  // `line 141: interval = ...` (not preceded by a file name other than the agent's).
  for (const m of reason.matchAll(/(?<![\w/.-]:?)(?:^|[\s(,])line (\d+): ([^\s].*)/g)) out.push({ line: Number(m[1]), code: m[2]! });
  // `line 100 (stub = ...)`.
  for (const m of reason.matchAll(/(?:^|[\s(,])line (\d+) \(([^\s].*)/g)) out.push({ line: Number(m[1]), code: m[2]! });
  // `` `sys.exit(130)`, line 88 `` and `` `x` (line 88) ``.
  for (const m of reason.matchAll(/`([^`\n]+)`,? \(?line (\d+)\b/g)) out.push({ line: Number(m[2]), code: m[1]! });
}

/** The quotes of `items` whose line does not hold the code they quote. */
export function reviewLineMisses(source: string, rel: string, items: ReviewItem[]): string[] {
  const lines = source.split(/\r?\n/);
  const misses: string[] = [];
  for (const k of items) {
    for (const q of quotedLines(k.reason, rel)) {
      const code = head(q.code);
      // Prose after "line N:" (a description, not code, or another item's reason quoted in this one; a request
      // described as `POST <REGISTRY_URL>/deregister`) is no quote.
      if (/^(the|a|an|it|its|this|that|which|where|one|no|not|in|on)\s/i.test(code) || /'s |\(line \d/.test(q.code.slice(0, 40)) || /^[\w.]+\(\) [a-z]+ /.test(q.code) || /^(GET|POST|PUT|PATCH|DELETE|HEAD) /.test(code)) continue;
      const text = (lines[q.line - 1] ?? '').trim();
      // The statement's first line, or an expression on it (`agent.collect` in `n = agent.collect()`).
      if (!text.includes(code)) misses.push(`${k.symbol}: line ${q.line} is \`${text}\`, the reason quotes \`${q.code.slice(0, 60)}\``);
    }
  }
  return misses;
}
