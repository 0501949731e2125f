// Concern: a property of the agent named like an attribute the base assigns (`@property def port(self):
// return int(self._cfg.get("port", 7890))`, with no setter). Once the class inherits the base, the
// base's own `self.port = ...` in its __init__ meets the property and raises AttributeError: the _v2
// could never start. What the property computes (from state the agent builds after super().__init__())
// must become the value given to the base, and its readers follow the base's attribute: a person
// decides that. The rewrite is refused before anything is written, naming both lines.
import path from 'node:path';
import type { PythonTransform } from '../../src/lang/python/transform-context.js';
import { MigrateError } from '../../src/core/errors.js';

export const ownedProperty: PythonTransform = {
  name: 'owned-property',
  phase: 'edit',
  run(ctx) {
    const cls = ctx.agent.cls;
    for (const [name, fn] of cls.methods) {
      if (!fn.decorators.includes('property') || !ctx.base.attributes.has(name)) continue;
      // `@port.setter` beside it: the base's assignment goes through the agent's setter.
      const setter = [...cls.body.namedChildren].some((c) => c.type === 'decorated_definition' &&
        c.namedChildren.some((d) => d.type === 'decorator' && d.text.replace(/\s+/g, '') === `@${name}.setter`));
      if (setter) continue;
      const baseFile = ctx.base.sourceFile ? path.basename(ctx.base.sourceFile) : ctx.profile.base_class;
      throw new MigrateError(
        `${cls.name}.${name} (line ${fn.line}) is a read-only property, but ${ctx.profile.base_class} (${baseFile}) assigns self.${name} ` +
          `itself: on the base its constructor would raise AttributeError. Give the base the value the property computes ` +
          `(built before super().__init__()) and let its readers read the base's self.${name}, by hand; nothing written`,
        ctx.file,
        fn.line,
      );
    }
  },
};
