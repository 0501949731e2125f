// Example user transform (jscodeshift format) for `migrate run --transform`:
// inside classes that extend BaseAgent, `console.log(...)` becomes `this.logger.info(...)`
// and `console.error(...)` becomes `this.logger.error(...)`, so agent output goes through the
// base's logger. Calls outside agent classes, and inside nested `function` bodies (whose
// `this` is not the agent), are left alone.
module.exports = function renameLogger(file, api) {
  const j = api.jscodeshift;
  const root = j(file.source);
  const levels = { log: 'info', info: 'info', warn: 'warn', error: 'error' };
  let changed = 0;

  root
    .find(j.ClassDeclaration)
    .filter((cls) => {
      const sup = cls.node.superClass;
      return sup && sup.type === 'Identifier' && sup.name === 'BaseAgent';
    })
    .forEach((cls) => {
      j(cls)
        .find(j.CallExpression, {
          callee: { type: 'MemberExpression', object: { type: 'Identifier', name: 'console' } },
        })
        .filter((call) => {
          const prop = call.node.callee.property;
          if (prop.type !== 'Identifier' || !(prop.name in levels)) return false;
          // `this` must still be the agent: no plain function between the call and the class.
          let p = call.parent;
          while (p && p.node !== cls.node) {
            if (p.node.type === 'FunctionExpression' || p.node.type === 'FunctionDeclaration') return false;
            p = p.parent;
          }
          return true;
        })
        .forEach((call) => {
          const level = levels[call.node.callee.property.name];
          call.node.callee = j.memberExpression(
            j.memberExpression(j.thisExpression(), j.identifier('logger')),
            j.identifier(level),
          );
          changed++;
        });
    });

  if (changed > 0) api.stats('console calls rewritten', changed);
  return changed > 0 ? root.toSource({ quote: 'single' }) : file.source;
};

module.exports.parser = 'ts';
