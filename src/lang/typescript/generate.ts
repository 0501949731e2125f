// Text of members the transforms add (runOnce, onStart, onStop, delegates, constructors), written
// in the file's own language: TypeScript gets modifiers and return types, JavaScript gets neither.
import type { TsRewriteContext } from './context.js';

export interface MethodSpec {
  name: string;
  async: boolean;
  /** Statements, indented one unit (the caller indents the whole member). */
  body: string;
  params?: string;
  /** `protected override` hooks of the base (default) or a public method of the agent. */
  visibility?: 'hook' | 'public';
  /** TypeScript return type; default `void` / `Promise<void>`. */
  returns?: string;
}

export function methodText(ctx: Pick<TsRewriteContext, 'js'>, m: MethodSpec): string {
  const head = `${m.async ? 'async ' : ''}${m.name}(${m.params ?? ''})`;
  if (ctx.js) return `${head} {\n${m.body}\n}`;
  const mods = (m.visibility ?? 'hook') === 'hook' ? 'protected override ' : '';
  const returns = m.returns ?? (m.async ? 'Promise<void>' : 'void');
  return `${mods}${head}: ${returns} {\n${m.body}\n}`;
}

/** `constructor(options = {}) { super(...) }` for a class that had none. */
export function constructorText(ctx: Pick<TsRewriteContext, 'js' | 'unit'>, superArgs: string): string {
  const param = ctx.js ? 'options = {}' : 'options: Record<string, unknown> = {}';
  return `constructor(${param}) {\n${ctx.unit}super(${superArgs});\n}`;
}
