// The language adapters the pipeline knows, by file ending.
import type { LanguageAdapter } from '../pipeline/language.js';
import type { Language } from '../core/types.js';
import { pythonAdapter } from './python/adapter.js';

const adapters: LanguageAdapter[] = [pythonAdapter];

export function registerAdapter(adapter: LanguageAdapter): void {
  if (!adapters.some((a) => a.language === adapter.language)) adapters.push(adapter);
}

export function allAdapters(): LanguageAdapter[] {
  return adapters;
}

export function adapterFor(language: Language): LanguageAdapter {
  const a = adapters.find((x) => x.language === language);
  if (!a) throw new Error(`no adapter for ${language}`);
  return a;
}
