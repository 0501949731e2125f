// The JSON contract keeps `symbol` a symbol: the engine's entries sometimes carry a
// description with it, in two shapes of its own making, `self.port (set by the base)` and
// `collect: self.publish(event)` (the member, then the statement in it). Split those into
// the symbol and an added `detail`; anything else (`signal.signal(signal.SIGTERM)`,
// `import signal`) is the symbol as written.

export interface SymbolDetail {
  symbol: string;
  detail?: string;
}

const MEMBER = String.raw`(?:self\.)?[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*`;
const WITH_NOTE = new RegExp(String.raw`^(${MEMBER}) \(([^()]+)\)$`);
const WITH_STATEMENT = new RegExp(String.raw`^(${MEMBER}): (.+)$`, 's');

export function splitSymbol(entry: string): SymbolDetail {
  const m = WITH_NOTE.exec(entry) ?? WITH_STATEMENT.exec(entry);
  return m ? { symbol: m[1]!, detail: m[2]! } : { symbol: entry };
}
