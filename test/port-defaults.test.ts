// The ports an agent's code binds by default, read from its tree: the forms real
// legacy agents use (parameter defaults, module constants, `or` / conditional
// fallbacks, environment look-ups with a default, helpers given one fallback, sums).
import { describe, expect, it } from 'vitest';
import { parseStrict } from '../src/lang/python/parser.js';
import { buildModuleModel } from '../src/lang/python/module-model.js';
import { buildAgentModel } from '../src/analysis/agent-model.js';
import { agentPortDefaults, expressionDefault } from '../src/analysis/port-defaults.js';

const NAMES = { port: ['port', 'zmq_port'], health: ['health_check_port', 'health_port'] };

function defaults(source: string) {
  const module = buildModuleModel(source, parseStrict(source, 'agent.py'));
  const cls = module.classes.at(-1)!;
  const d = agentPortDefaults({ agent: buildAgentModel(cls), module }, NAMES);
  return { port: d.port?.value ?? null, health: d.health?.value ?? null, binds: d.binds.map((b) => b.value) };
}

describe('agentPortDefaults', () => {
  it('parameter defaults, and a sum of a parameter and a constant', () => {
    expect(defaults('class A:\n    def __init__(self, port=5708 + 100, health_check_port=5809):\n        self.port = port\n')).toEqual({ port: 5808, health: 5809, binds: [] });
  });

  it('module constants and `x if x is not None else C` / `x or C`', () => {
    const src = [
      'DEFAULT_PORT = 7321',
      'class A:',
      '    def __init__(self, port=None, health_port=None):',
      '        self.port = port if port is not None else DEFAULT_PORT',
      '        self.health_port = health_port or self.port + 1',
      '        self.socket.bind(f"tcp://*:{self.port}")',
      '        self.health.bind(f"tcp://*:{self.port + 1}")',
      '',
    ].join('\n');
    expect(defaults(src)).toEqual({ port: 7321, health: 7322, binds: [7321, 7322] });
  });

  it('environment look-ups with a default, and helpers given the parameter and one fallback', () => {
    const src = [
      'import os',
      'class A:',
      '    def __init__(self, zmq_port=None, health_check_port=None):',
      '        self.zmq_port = int(os.environ.get("AGENT_PORT", "7391"))',
      '        self.health_check_port = env_port(health_check_port, "HEALTH_CHECK_PORT", 7392)',
      '',
    ].join('\n');
    expect(defaults(src)).toEqual({ port: 7391, health: 7392, binds: [] });
  });

  it('leaves unknown what the code does not fix (argparse, a required parameter, a free port)', () => {
    const src = [
      'class A:',
      '    def __init__(self, port, health_check_port=None):',
      '        self.port = port',
      '        self.health_check_port = health_check_port or find_free_port()',
      '',
    ].join('\n');
    expect(defaults(src)).toEqual({ port: null, health: null, binds: [] });
  });

  it('reads through a settings object the agent builds: a dataclass field, a keyword of the call, a plain class\'s __init__', () => {
    const src = [
      'from dataclasses import dataclass, field',
      '@dataclass',
      'class CacheConfig:',
      '    port: int = 7640',
      '    api_port: int = 7641',
      '    admin_port: int = field(default=7649)',
      'class Listen:',
      '    def __init__(self, host="127.0.0.1", port=7700):',
      '        self.port = port',
      'class A:',
      '    def __init__(self, config: CacheConfig = None):',
      '        self.config = config or CacheConfig(admin_port=7645)',
      '        _local = Listen(port=7702)',
      '        self.listen = Listen()',
      '        self.local_port = _local.port',
      '        self.port = self.config.port',
      '        self.api.bind(("", self.config.api_port))',
      '',
    ].join('\n');
    const module = buildModuleModel(src, parseStrict(src, 'agent.py'));
    const scope = { agent: buildAgentModel(module.classes.at(-1)!), module };
    expect(defaults(src)).toEqual({ port: 7640, health: null, binds: [7641] });
    expect(expressionDefault(scope, 'config.admin_port')).toBe(7645);
    expect(expressionDefault(scope, 'listen.port')).toBe(7700);
    expect(expressionDefault(scope, 'local_port')).toBe(7702);
    expect(expressionDefault(scope, 'config.missing')).toBeNull();
  });

  it('keys of a config dict: subscripts and .get(key, fallback) of a literal default, through a parameter, a copy or a constant', () => {
    const src = [
      'DEFAULTS = {"port": 7120, "metrics_port": 7125}',
      'class A:',
      '    def __init__(self, config=None, extra=None):',
      '        self.config = config or {"port": 7110, "health_port": 7111}',
      '        self.extra = dict(DEFAULTS)',
      '        self.port = self.config["port"]',
      '        self.a.bind(("127.0.0.1", self.config["health_port"]))',
      '        self.b.bind(("127.0.0.1", self.config.get("health_port", 9000)))',
      '        self.c.bind(("127.0.0.1", self.config.get("stats_port", 7112)))',
      '        self.d.bind(("127.0.0.1", self.extra["metrics_port"]))',
      '        self.e.bind(("127.0.0.1", self.config[key]))',
      '',
    ].join('\n');
    // The dict's value wins over .get's fallback; a key it lacks falls back; a computed key is unknown.
    expect(defaults(src)).toEqual({ port: 7110, health: null, binds: [7111, 7111, 7112, 7125] });
  });

  it('a dict that is not a literal (read from a file, splatted) leaves its keys unknown', () => {
    const src = [
      'class A:',
      '    def __init__(self, config=None):',
      '        self.config = config or load_config()',
      '        self.other = {**BASE, "port": 1}',
      '        self.a.bind(("127.0.0.1", self.config["health_port"]))',
      '        self.b.bind(("127.0.0.1", self.other["port"]))',
      '',
    ].join('\n');
    expect(defaults(src)).toEqual({ port: null, health: null, binds: [] });
  });
});
