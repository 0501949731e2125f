// An agent already written for a base of the profile's name: it derives from a class of that name
// imported from a module (an older copy of the base, `from src.core.base_agent import BaseAgent`
// where the profile's is `common.core.base_agent`, whose import the rewrite points at the profile's
// module; or the profile's own, as the rewrite's output is). Its hooks were written for a base that
// called them where the profile's base does.
import type { ModuleModel, PyClass } from '../lang/python/module-model.js';

export function derivesFromBaseOfName(module: ModuleModel, cls: PyClass, baseClass: string): boolean {
  const imported = module.imports.get(baseClass);
  if (!imported || imported.name !== baseClass) return false;
  return cls.bases.some((b) => b.text === baseClass);
}
