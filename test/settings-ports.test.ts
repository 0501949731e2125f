// Ports read only from a settings object the agent holds (heldSettingsPorts): which holders count. A holder the
// agent's own port is copied from, or one __init__ builds first and whose key a server binds as its address port;
// never a peer's settings the agent only polls, nor one built after other attributes set by code, not literals
// (the base's call could not go right after it), nor the settings parameter itself (read from the parameter before anything runs).
import { describe, expect, it } from 'vitest';
import { parseStrict } from '../src/lang/python/parser.js';
import { buildModuleModel } from '../src/lang/python/module-model.js';
import { buildAgentModel } from '../src/analysis/agent-model.js';
import { heldSettingsPorts } from '../src/analysis/settings-ports.js';

const PASS_THROUGH = { port: ['port'], health_check_port: ['health_check_port', 'health_port'] };

function held(source: string): Record<string, string> {
  const module = buildModuleModel(source, parseStrict(source, 'agent.py'));
  const ports = heldSettingsPorts(buildAgentModel(module.classes.at(-1)!), PASS_THROUGH);
  return Object.fromEntries([...ports].map(([k, v]) => [k, `${v.holder}: ${v.value}`]));
}

const server = (port: string) => `        self.status = HTTPServer(("127.0.0.1", ${port}), Handler)\n`;

describe('heldSettingsPorts', () => {
  it('a mapping __init__ builds first, its ports bound as server addresses', () => {
    const src = 'class A:\n    def __init__(self, config=None):\n        self.config = config or {"port": 7001, "health_port": 7002}\n        self.jobs = []\n' +
      '    def run(self):\n' + server('self.config["health_port"]') + '        self.intake = TCPServer(("127.0.0.1", self.config.get("port", 7001)), Intake)\n';
    expect(held(src)).toEqual({ port: 'config: self.config.get("port", 7001)', health_check_port: 'config: self.config["health_port"]' });
  });

  it("a peer's health port the agent polls is not its own", () => {
    const src = 'class A:\n    def __init__(self, upstream=None):\n        self.upstream = upstream or {"host": "127.0.0.1", "health_port": 7002}\n' +
      '    def check(self):\n        return urlopen("http://%s:%d/health" % (self.upstream["host"], self.upstream["health_port"]))\n';
    expect(held(src)).toEqual({});
  });

  // __init__'s statements before `self.config = config or {...}`, the health server on self.config["health_port"]:
  // literal setters only can go below the settings' set-up; a setter running code (or an f-string) cannot.
  const before = (lines: string) => 'class A:\n    def __init__(self, config=None):\n' + lines +
    '        self.config = config or {"health_port": 7002}\n    def run(self):\n' + server('self.config["health_port"]');
  it('settings built after another attribute set by code are not read (the call could not go right after them)', () => {
    expect(held(before('        self.lock = threading.Lock()\n'))).toEqual({});
    expect(held(before('        self.label = f"{config}"\n'))).toEqual({});
  });

  it('settings built after attributes set to literals only are read (their set-up can go above those)', () => {
    expect(held(before('        self.running = False\n        self.label = "ledger"\n'))).toEqual({ health_check_port: 'config: self.config["health_port"]' });
  });

  it('a literal placeholder set again after the settings (`self.label = None`, later from them) keeps them unread', () => {
    const src = before('        self.running = False\n        self.label = None\n').replace(
      '        self.config = config or {"health_port": 7002}\n',
      '        self.config = config or {"health_port": 7002}\n        self.label = self.config.get("label")\n',
    );
    expect(held(src)).toEqual({});
  });

  it('configparser options read with getint(section, option) are read; one option of two sections is not', () => {
    const src = 'class A:\n    def __init__(self, path=None):\n        self.config = load_ini(path)\n' +
      '    def run(self):\n' + server('self.config.getint("ledger", "health_port")');
    expect(held(src)).toEqual({ health_check_port: 'config: self.config.getint("ledger", "health_port")' });
    const two = src + '        self.peer = connect(("127.0.0.1", self.config.getint("upstream", "health_port")))\n';
    expect(held(two)).toEqual({});
  });

  it('settings changed in place after they are built are not read', () => {
    const src = 'class A:\n    def __init__(self, config=None):\n        self.config = dict(config or {"health_port": 7002})\n        self.config.update(load_overrides())\n' +
      '    def run(self):\n' + server('self.config["health_port"]');
    expect(held(src)).toEqual({});
  });

  it('the settings parameter itself is read from the parameter, not through the attribute holding it', () => {
    const src = 'class A:\n    def __init__(self, settings):\n        self.settings = settings\n' +
      '    def run(self):\n' + server('self.settings.health_port');
    expect(held(src)).toEqual({});
  });

  it("settings from the agent's own method, or a port read with a fallback computed elsewhere, are not read", () => {
    const own = 'class A:\n    def __init__(self, path=None):\n        self.config = self._load(path)\n' +
      '    def run(self):\n' + server('self.config["health_port"]');
    expect(held(own)).toEqual({});
    const computed = 'class A:\n    def __init__(self, config=None):\n        self.config = config or {"port": 7001}\n' +
      '    def run(self):\n        fallback = self.config["port"] + 1\n' + server('self.config.get("health_port", fallback)') +
      '        self.intake = TCPServer(("127.0.0.1", self.config["port"]), Intake)\n';
    // (nor the request port: handed alone, the base would take port + 1 for health, where the kept server may listen)
    expect(held(computed)).toEqual({});
  });

  it('a holder the agent copies its own port from, as before', () => {
    const src = 'class A:\n    def __init__(self, config=None):\n        self.running = True\n        self.config = config or Settings()\n        self.port = self.config.port\n' +
      '    def run(self):\n' + server('self.config.health_port');
    expect(held(src)).toEqual({ health_check_port: 'config: self.config.health_port' });
  });
});
