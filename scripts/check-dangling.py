#!/usr/bin/env python3
"""Independent audit of migrated Python agents: dangling references and orphaned behaviour.

The engine only parses the `_v2` files it writes; a name, a `self.<attr>` or a method that a
removal left without its definition would only show at run time. This checker reads each
(legacy, `_v2`) pair with `ast` / `symtable` (standard library only, Python 3.11) and reports
what the rewrite introduced (whatever the legacy file already got wrong is not reported):

  undefined-name      a name read in the `_v2` that no scope binds, not imported, not a builtin
  self-attr           `self.X` read or called in a class while nothing assigns or defines X in the
                      class, its in-file / in-repo superclasses (the base class included, read
                      from its source) or a standard-library base; the same read through the
                      class (`Agent.X`, `cls.X`, `type(self).X`, `self.__class__.X`), an alias of
                      self (`agent = self`), `getattr(self, "X")` without a default, an instance
                      the module builds (`agent = Agent(); agent.X`), and `super().X` with X on
                      no base
  thread-target       the same, when the missing callable is the target of a thread / timer /
                      process started by the `_v2`
  unused-import       an import the rewrite added that nothing in the `_v2` uses
  removed-referenced  a method of the legacy class that the `_v2` class lost (and the base does
                      not define) while the `_v2` file or another file of the fleet still calls
                      it on the agent
  orphaned-method     a method or module function the `_v2` kept whose every caller was removed:
                      it was called in the legacy file (or by the legacy base), nothing calls it
                      now (the `_v2`, the fleet, or the `_v2` base as a hook)

Usage: check-dangling.py MANIFEST.json   (or `-` for stdin)
       check-dangling.py --root DIR         (every `X_v2.py` under DIR beside its legacy `X.py`)
  {"cases": [{"legacy": "a.py", "v2": "a_v2.py", "roots": ["repo"], "fleet": ["other.py", ...],
             "acknowledged": ["kept_for_review symbols and warnings of the engine's result"]}]}
`roots`: directories whose Python files define the classes a base name may resolve to (the
repository, the base class's source); `fleet`: the other files of the fleet that may call into
the agent (default: every .py file under the first root except the pair). Prints JSON:
{"findings": [...], "counts": {category: n}}.
"""

import ast
import builtins
import gc
import importlib
import json
import os
import re
import symtable
import sys

BUILTIN_NAMES = set(dir(builtins)) | {
    "__file__", "__name__", "__doc__", "__spec__", "__loader__", "__package__", "__path__",
    "__builtins__", "__annotations__", "__dict__", "__module__", "__qualname__", "__class__",
    "__debug__", "__cached__",
}
STDLIB = set(getattr(sys, "stdlib_module_names", ()))
THREAD_CALLS = {"Thread", "Timer", "Process", "start_new_thread", "call_later", "call_soon", "enter", "enterabs",
                "submit", "run_in_executor", "create_task", "ensure_future", "signal", "register"}

_parse_cache = {}
_text_cache = {}
CLASS_RE = re.compile(r"^[ \t]*class[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.M)
WORD_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def read_text(path):
    if path not in _text_cache:
        try:
            _text_cache[path] = read_source(path)
        except OSError:
            _text_cache[path] = ""
    return _text_cache[path]
_repos = {}
_refs_cache = {}


def refs_of(path, tree):
    if path not in _refs_cache:
        _refs_cache[path] = attr_refs(tree)
    return _refs_cache[path]


def read_source(path):
    with open(path, "rb") as f:
        data = f.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return data.decode("latin-1")



_walk_cache = {}


def walk(node):
    """ast.walk's nodes as a list, kept per node: the checker walks the same trees many times
    (the 2 MiB fixture made that minutes), and a list is far quicker to go through again."""
    hit = _walk_cache.get(id(node))
    if hit is None:
        # the node itself is kept beside its list so its id cannot be reused by another one
        hit = _walk_cache[id(node)] = (node, list(ast.walk(node)))
    return hit[1]


# Trees by source text: each case's repository holds its own copy of the same base, runtime and
# support files (the hardened corpus: a third of its parses, most of their bytes). What is read off
# a tree depends on its text only; the analyses keyed by a tree's id (classes_in, imported_names,
# ref_counts) hold no path that reaches a finding (ClassInfo.path only finds its own tree's classes).
_tree_by_text = {}


def parse(path):
    if path not in _parse_cache:
        try:
            src = read_source(path)
            tree = _tree_by_text.get(src)
            if tree is None:
                tree = _tree_by_text[src] = ast.parse(src, filename=path)
            _parse_cache[path] = (src, tree)
        except (SyntaxError, ValueError, OSError):
            _parse_cache[path] = (None, None)
    return _parse_cache[path]


# ---------------------------------------------------------------- names


def module_bound_names(tree):
    """Names bound at module level, also by `global x` statements inside functions."""
    bound = set()
    for node in walk(tree):
        if isinstance(node, ast.Global):
            bound.update(node.names)
    return bound


def undefined_names(src, path, tree):
    """{name: first line} for names read that no scope binds (None when a star import hides them)."""
    for node in walk(tree):
        if isinstance(node, ast.ImportFrom) and any(a.name == "*" for a in node.names):
            return None
    try:
        top = symtable.symtable(src, path, "exec")
    except SyntaxError:
        return None
    module_bound = set(module_bound_names(tree))
    for sym in top.get_symbols():
        if sym.is_assigned() or sym.is_imported() or sym.is_namespace() or sym.is_parameter():
            module_bound.add(sym.get_name())
    missing = set()

    def visit(table, is_top):
        for sym in table.get_symbols():
            name = sym.get_name()
            if not sym.is_referenced():
                continue
            if is_top:
                unbound = not (sym.is_assigned() or sym.is_imported() or sym.is_namespace())
            else:
                unbound = sym.is_global() and not sym.is_assigned() and not sym.is_imported() and not sym.is_namespace() and not sym.is_parameter()
            if unbound and name not in module_bound and name not in BUILTIN_NAMES:
                missing.add(name)
        for child in table.get_children():
            visit(child, False)

    visit(top, True)
    lines = {}
    for node in walk(tree):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and node.id in missing:
            lines[node.id] = min(lines.get(node.id, node.lineno), node.lineno)
    return {n: lines.get(n, 0) for n in missing}


# ---------------------------------------------------------------- classes


class ClassInfo:
    def __init__(self, node, path, tree):
        self.node = node
        self.path = path
        self.tree = tree
        self.name = node.name
        self.methods = {}
        self.defined = set()  # class-level names, methods, self.X stores
        self.dynamic = False  # setattr(self, var, ...), __getattr__, __dict__ updates
        for stmt in node.body:
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
                self.methods[stmt.name] = stmt
                self.defined.add(stmt.name)
                if stmt.name in ("__getattr__", "__getattribute__"):
                    self.dynamic = True
            elif isinstance(stmt, ast.ClassDef):
                self.defined.add(stmt.name)
            elif isinstance(stmt, (ast.Assign, ast.AnnAssign, ast.AugAssign)):
                targets = stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target]
                for t in targets:
                    for n in walk(t):
                        if isinstance(n, ast.Name):
                            self.defined.add(n.id)
                if isinstance(stmt, ast.Assign):
                    for t in stmt.targets:
                        if isinstance(t, ast.Name) and t.id == "__slots__":
                            for e in walk(stmt.value):
                                if isinstance(e, ast.Constant) and isinstance(e.value, str):
                                    self.defined.add(e.value)
        for fn in self.methods.values():
            me = self_name(fn)
            for n in walk(fn):
                if isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in (me, "cls", "self") and isinstance(n.ctx, (ast.Store, ast.Del)):
                    self.defined.add(n.attr)
                elif isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "setattr" and n.args:
                    if isinstance(n.args[0], ast.Name) and n.args[0].id in (me, "self", "cls"):
                        if len(n.args) > 1 and isinstance(n.args[1], ast.Constant) and isinstance(n.args[1].value, str):
                            self.defined.add(n.args[1].value)
                        else:
                            self.dynamic = True
                elif isinstance(n, ast.Attribute) and n.attr == "__dict__" and isinstance(n.value, ast.Name) and n.value.id in (me, "self"):
                    self.dynamic = True
        # Attributes a decorator such as @dataclass / NamedTuple make are class-level annotations (above).

    def base_exprs(self):
        return list(self.node.bases)


def self_name(fn):
    args = fn.args.posonlyargs + fn.args.args
    if not args:
        return None
    for d in fn.decorator_list:
        if isinstance(d, ast.Name) and d.id == "staticmethod":
            return None
    return args[0].arg


_classes_cache = {}


def classes_in(tree, path):
    if id(tree) in _classes_cache:
        return _classes_cache[id(tree)]
    out = _classes_cache[id(tree)] = {}
    for node in walk(tree):
        if isinstance(node, ast.ClassDef):
            out.setdefault(node.name, []).append(ClassInfo(node, path, tree))
    return out


class Repo:
    """Every class of the roots' Python files, by name, and the files themselves."""

    def __init__(self, roots):
        self.by_name = {}
        self.files = []
        seen = set()
        for root in roots:
            for dirpath, dirnames, filenames in os.walk(root):
                dirnames[:] = [d for d in dirnames if d not in (".git", "node_modules", "__pycache__", ".migrate")]
                for fn in filenames:
                    if fn.endswith(".py"):
                        p = os.path.realpath(os.path.join(dirpath, fn))
                        if p in seen:
                            continue
                        seen.add(p)
                        self.files.append(p)

    def referrers(self, name):
        """Files of the repository that read `name` (as .name, a bare name or a quoted identifier)."""
        if not hasattr(self, "_refs"):
            # Words of each file: a superset of what it reads (comments included), so an orphan is
            # only reported when no file of the fleet even mentions the name.
            self._refs = {}
            for p in self.files:
                for w in set(WORD_RE.findall(read_text(p))):
                    self._refs.setdefault(w, set()).add(p)
        return self._refs.get(name, ())

    def classes(self, name):
        """The classes named `name` in the repository (only files that define one are parsed)."""
        if not hasattr(self, "_where"):
            self._where = {}
            for p in self.files:
                for m in CLASS_RE.finditer(read_text(p)):
                    self._where.setdefault(m.group(1), set()).add(p)
        if name not in self.by_name:
            found = []
            for p in sorted(self._where.get(name, ())):
                src, tree = parse(p)
                if tree is not None:
                    found.extend(classes_in(tree, p).get(name, []))
            self.by_name[name] = found
        return self.by_name[name]


_imports_cache = {}


def imported_names(tree):
    """{local name: (module, attribute or None)} of the module's imports."""
    if id(tree) in _imports_cache:
        return _imports_cache[id(tree)]
    out = _imports_cache[id(tree)] = {}
    for node in walk(tree):
        if isinstance(node, ast.Import):
            for a in node.names:
                out[(a.asname or a.name).split(".")[0]] = (a.name if a.asname else a.name.split(".")[0], None)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for a in node.names:
                out[a.asname or a.name] = (node.module, a.name)
    return out


_modules_cache = {}


def imported_modules(tree):
    if id(tree) not in _modules_cache:
        mods = set()
        for n in walk(tree):
            if isinstance(n, ast.ImportFrom) and n.module:
                mods.add(n.module)
            elif isinstance(n, ast.Import):
                mods.update(a.name for a in n.names)
        _modules_cache[id(tree)] = mods
    return _modules_cache[id(tree)]


def stdlib_class(module, attr):
    if module.split(".")[0] not in STDLIB:
        return None
    try:
        obj = importlib.import_module(module)
        for part in attr.split("."):
            obj = getattr(obj, part)
        return obj if isinstance(obj, type) else None
    except Exception:
        return None


_members_cache = {}


def resolve_members(info, repo, stack=()):
    """(names the class and its bases define, open?) — open when a base cannot be resolved."""
    key = (id(info.node), id(repo))
    hit = _members_cache.get(key)
    if hit is not None and hit[0] is info.node:
        return hit[1]
    out = _resolve_members(info, repo, stack)
    _members_cache[key] = (info.node, out)
    return out


def _resolve_members(info, repo, stack):
    if info.name in stack or len(stack) > 12:
        return set(), False
    names = set(info.defined)
    open_ = info.dynamic
    imports = imported_names(info.tree)
    local = classes_in(info.tree, info.path)
    for b in info.base_exprs():
        if isinstance(b, ast.Name) and b.id == "object":
            continue
        if isinstance(b, ast.Subscript):
            b = b.value
        dotted = None
        if isinstance(b, ast.Name):
            simple = b.id
        elif isinstance(b, ast.Attribute):
            simple = b.attr
            parts = []
            x = b
            while isinstance(x, ast.Attribute):
                parts.append(x.attr)
                x = x.value
            if isinstance(x, ast.Name):
                parts.append(x.id)
                dotted = ".".join(reversed(parts))
        else:
            open_ = True
            continue
        # Standard library base (threading.Thread, socketserver.BaseRequestHandler, ...).
        cls = None
        if isinstance(b, ast.Name) and b.id in imports:
            mod, attr = imports[b.id]
            cls = stdlib_class(mod, attr) if attr else None
        elif dotted:
            head, _, rest = dotted.partition(".")
            if head in imports and imports[head][1] is None:
                cls = stdlib_class(imports[head][0], rest)
        if isinstance(b, ast.Name) and cls is None and hasattr(builtins, b.id) and isinstance(getattr(builtins, b.id), type):
            cls = getattr(builtins, b.id)
        if cls is not None:
            names |= set(dir(cls))
            for k in cls.__mro__:
                names |= set(getattr(k, "__annotations__", {}) or {})
            if any("__getattr__" in vars(k) for k in cls.__mro__ if k is not object):
                open_ = True
            continue
        candidates = [c for c in local.get(simple, []) if c.node is not info.node] or repo.classes(simple)
        if not candidates:
            open_ = True
            continue
        for c in candidates:
            n, o = resolve_members(c, repo, stack + (info.name,))
            names |= n
            open_ = open_ or o
    names |= set(dir(object))
    return names, open_


def self_reads(info):
    """[(attr, line, is_thread_target)] of self.X loads in the class's methods."""
    out = []
    for fn in info.methods.values():
        me = self_name(fn)
        targets = set()
        for n in walk(fn):
            if isinstance(n, ast.Call):
                fname = n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id if isinstance(n.func, ast.Name) else None
                if fname in THREAD_CALLS:
                    for a in list(n.args) + [k.value for k in n.keywords if k.arg in (None, "target", "function", "fn", "handler", "callback", "action")]:
                        targets.add(id(a))
        # The instance under another name (`agent = self`), and the class itself: `type(self).X`,
        # `self.__class__.X`, `Agent.X` (a static helper called through the class) resolve X on the
        # same class as `self.X`.
        aliases = {me} if me else set()
        for n in walk(fn):
            if me and isinstance(n, ast.Assign) and isinstance(n.value, ast.Name) and n.value.id == me:
                aliases.update(t.id for t in n.targets if isinstance(t, ast.Name))
        for n in walk(fn):
            if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and self_or_class(n.value, aliases, info.name):
                if n.attr in TYPE_NAMES:
                    continue  # type(self).__name__, cls.__name__: the class object's own attribute
                out.append((n.attr, n.lineno, id(n) in targets))
            elif (isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == "getattr" and len(n.args) == 2 and not n.keywords
                  and self_or_class(n.args[0], aliases, info.name) and isinstance(n.args[1], ast.Constant) and isinstance(n.args[1].value, str)):
                # getattr without a default raises like the attribute read it spells
                out.append((n.args[1].value, n.lineno, id(n) in targets))
    # Outside the class: `Agent.X` and `agent.X` on an instance the module builds (`agent = Agent()`).
    recv = agent_receivers(info.tree, info.name)
    inside = {id(n) for n in walk(info.node)}
    for n in walk(info.tree):
        if (isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and id(n) not in inside
                and isinstance(n.value, ast.Name) and n.value.id in recv):
            if n.attr not in TYPE_NAMES:
                out.append((n.attr, n.lineno, False))
    return out


# What a class object answers beyond what its instances do (`__name__`, `__mro__`, `mro`).
TYPE_NAMES = set(dir(type)) - set(dir(object))


def self_or_class(v, aliases, class_name):
    """`v` is the method's instance (or an alias of it) or its class (`type(self)`, `self.__class__`, the class's name)."""
    if isinstance(v, ast.Name):
        return v.id in aliases or v.id == class_name
    if isinstance(v, ast.Attribute) and v.attr == "__class__":
        return isinstance(v.value, ast.Name) and v.value.id in aliases
    return (isinstance(v, ast.Call) and isinstance(v.func, ast.Name) and v.func.id == "type" and len(v.args) == 1
            and isinstance(v.args[0], ast.Name) and v.args[0].id in aliases)


def super_reads(info):
    """[(attr, line)] of `super().X` loads in the class's methods: X resolves on the bases only."""
    out = []
    for fn in info.methods.values():
        for n in walk(fn):
            if (isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and isinstance(n.value, ast.Call)
                    and isinstance(n.value.func, ast.Name) and n.value.func.id == "super"):
                out.append((n.attr, n.lineno))
    return out


def dangling_self(info, repo):
    names, open_ = resolve_members(info, repo)
    if open_:
        return {}
    out = {}
    for attr, line, thread in self_reads(info):
        if attr not in names and attr not in out:
            out[attr] = (line, thread)
    reads = super_reads(info)
    if reads:
        bases, _ = resolve_members_bases_only(info, repo)
        bases |= set(dir(object))
        for attr, line in reads:
            if attr not in bases and f"super().{attr}" not in out:
                out[f"super().{attr}"] = (line, False)
    return out


def subclasses_define(cname, attr, vclasses, vtree, repo, pair):
    """An in-file parent class (a mixin of the agent) reads `attr` that every one of its subclasses
    defines (the base class sets it): its `self` is only ever such a subclass when the file never
    builds the parent itself and no other file of the fleet names it."""
    if attr.startswith("super()."):
        return False
    subs = [i for infos in vclasses.values() for i in infos
            if any(isinstance(b, ast.Name) and b.id == cname for b in i.base_exprs())]
    if not subs:
        return False
    if any(isinstance(n, ast.Call) and isinstance(n.func, ast.Name) and n.func.id == cname for n in walk(vtree)):
        return False
    if any(f not in pair for f in repo.referrers(cname)):
        return False
    for sub in subs:
        names, open_ = resolve_members(sub, repo)
        if open_ or attr not in names:
            return False
    return True


# ---------------------------------------------------------------- references


_counts_cache = {}


def ref_counts(tree):
    """{name: how many times it is read} over the whole tree (attr_refs' notion of a read)."""
    if id(tree) not in _counts_cache:
        counts = {}
        for n in walk(tree):
            name = read_name(n)
            if name:
                counts[name] = counts.get(name, 0) + 1
        _counts_cache[id(tree)] = counts
    return _counts_cache[id(tree)]


def read_name(n):
    if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load):
        return n.attr
    if isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
        return n.id
    if isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.isidentifier():
        return n.value
    return None


def read_outside(tree, fn, name):
    """`name` is read somewhere in `tree` outside the definition `fn`."""
    total = ref_counts(tree).get(name, 0)
    if total == 0:
        return False
    inside = sum(1 for n in walk(fn) if read_name(n) == name) if fn is not None else 0
    return total > inside


def attr_refs(tree, skip=None):
    """Names read as `.X` or as a bare name anywhere, or quoted (getattr(self, "X")), outside `skip` nodes."""
    skip_ids = set()
    if skip is not None:
        for n in walk(skip):
            skip_ids.add(id(n))
    refs = {}
    for n in walk(tree):
        if id(n) in skip_ids:
            continue
        name = None
        if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load):
            name = n.attr
        elif isinstance(n, ast.Name) and isinstance(n.ctx, ast.Load):
            name = n.id
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.isidentifier():
            name = n.value
        if name:
            refs.setdefault(name, n.lineno)
    return refs


_recv_cache = {}


def agent_receivers(tree, class_name):
    """Names bound to an instance of class_name (x = Class(...), x = Class.factory(...)), and the class itself."""
    key = (id(tree), class_name)
    if key not in _recv_cache:
        _recv_cache[key] = _agent_receivers(tree, class_name)
    return _recv_cache[key]


def _agent_receivers(tree, class_name):
    recv = {class_name}
    changed = True
    while changed:
        changed = False
        for n in walk(tree):
            if isinstance(n, (ast.Assign, ast.AnnAssign)) and n.value is not None and isinstance(n.value, ast.Call):
                f = n.value.func
                base = f
                while isinstance(base, ast.Attribute):
                    base = base.value
                if isinstance(base, ast.Name) and base.id in recv:
                    targets = n.targets if isinstance(n, ast.Assign) else [n.target]
                    for t in targets:
                        if isinstance(t, ast.Name) and t.id not in recv:
                            recv.add(t.id)
                            changed = True
            elif isinstance(n, ast.withitem) and isinstance(n.context_expr, ast.Call) and isinstance(n.optional_vars, ast.Name):
                f = n.context_expr.func
                if isinstance(f, ast.Name) and f.id in recv and n.optional_vars.id not in recv:
                    recv.add(n.optional_vars.id)
                    changed = True
    return recv


_agent_calls_cache = {}


def calls_on_agent(tree, class_name, method, exclude_class=None):
    """Lines where `<agent>.method` is read outside the agent class (x = Agent(); x.method())."""
    key = (id(tree), class_name, id(exclude_class))
    if key not in _agent_calls_cache:
        recv = agent_receivers(tree, class_name)
        skip = set()
        if exclude_class is not None:
            for n in walk(exclude_class):
                skip.add(id(n))
        by_method = {}
        for n in walk(tree):
            if isinstance(n, ast.Attribute) and isinstance(n.ctx, ast.Load) and id(n) not in skip:
                v = n.value
                if isinstance(v, ast.Call):
                    v = v.func
                if isinstance(v, ast.Name) and v.id in recv:
                    by_method.setdefault(n.attr, []).append(n.lineno)
        _agent_calls_cache[key] = (exclude_class, by_method)
    return _agent_calls_cache[key][1].get(method, [])


def module_of(path, root):
    rel = os.path.relpath(path, root)
    if rel.startswith(".."):
        return None
    mod = rel[:-3].replace(os.sep, ".")
    return mod[:-9] if mod.endswith(".__init__") else mod


# ---------------------------------------------------------------- the audit


def check_case(case):
    legacy, v2 = case["legacy"], case["v2"]
    roots = case.get("roots") or [os.path.dirname(v2)]
    findings = []

    # What the engine itself reported (kept_for_review symbols, words of its warnings): a finding
    # about one of these, or whose legacy caller is one of these, is acknowledged, not silent.
    said = set()
    for text in case.get("acknowledged", []):
        said.update(WORD_RE.findall(text))

    def add(cat, line, symbol, detail, callers=()):
        owner = symbol.split(".")[0] if "." in symbol else None
        names = {symbol.split(".")[-1]} | (set(callers) - {owner})
        if names & said:
            cat, detail = "acknowledged", f"{cat}: {detail} (reported by the engine)"
        findings.append({"category": cat, "file": v2, "line": line, "symbol": symbol, "detail": detail})

    lsrc, ltree = parse(legacy)
    vsrc, vtree = parse(v2)
    if vtree is None:
        add("parse-error", 0, "", "the _v2 does not parse")
        return findings
    key = tuple(roots)
    if key not in _repos:
        _repos[key] = Repo(roots)
    repo = _repos[key]
    pair = {os.path.realpath(legacy), os.path.realpath(v2)}
    fleet = case.get("fleet")
    if fleet is None:
        fleet = [p for p in repo.files if p not in pair]
    else:
        fleet = [os.path.realpath(p) for p in fleet if os.path.realpath(p) not in pair]

    # 1. names
    vmiss = undefined_names(vsrc, v2, vtree) or {}
    lmiss = (undefined_names(lsrc, legacy, ltree) or {}) if ltree is not None else {}
    thread_names = set()
    for n in walk(vtree):
        if isinstance(n, ast.Call):
            fname = n.func.attr if isinstance(n.func, ast.Attribute) else n.func.id if isinstance(n.func, ast.Name) else None
            if fname in THREAD_CALLS:
                for a in list(n.args) + [k.value for k in n.keywords]:
                    if isinstance(a, ast.Name):
                        thread_names.add(a.id)
    for name, line in sorted(vmiss.items(), key=lambda kv: kv[1]):
        if name in lmiss:
            continue
        add("thread-target" if name in thread_names else "undefined-name", line, name, "read but bound nowhere (no scope, import or builtin)")

    # 2. self attributes, class by class (matched to the legacy class of the same name)
    vclasses = classes_in(vtree, v2)
    lclasses = classes_in(ltree, legacy) if ltree is not None else {}
    for cname, infos in vclasses.items():
        for info in infos:
            dang = dangling_self(info, repo)
            if not dang:
                continue
            before = {}
            for linfo in lclasses.get(cname, []):
                before.update(dangling_self(linfo, repo))
            for attr, (line, thread) in sorted(dang.items(), key=lambda kv: kv[1][0]):
                if attr in before or subclasses_define(cname, attr, vclasses, vtree, repo, pair):
                    continue
                add("thread-target" if thread else "self-attr", line, f"{cname}.{attr}",
                    "read on self but neither the class, its bases nor the base class define it")

    # 3. imports the rewrite added that nothing uses
    def import_bindings(tree):
        out = {}
        for node in tree.body if tree is not None else []:
            for n in walk(node) if isinstance(node, (ast.Try, ast.If)) else [node]:
                if isinstance(n, ast.Import):
                    for a in n.names:
                        out[(a.asname or a.name.split(".")[0], a.name)] = n.lineno
                elif isinstance(n, ast.ImportFrom):
                    for a in n.names:
                        out[(a.asname or a.name, f"{'.' * n.level}{n.module or ''}.{a.name}")] = n.lineno
        return out

    limports = import_bindings(ltree)
    vimports = import_bindings(vtree)
    vrefs = attr_refs(vtree)
    exported = set()
    for n in walk(vtree):
        if isinstance(n, ast.Assign) and any(isinstance(t, ast.Name) and t.id == "__all__" for t in n.targets):
            for e in walk(n.value):
                if isinstance(e, ast.Constant) and isinstance(e.value, str):
                    exported.add(e.value)
    used_names = set()
    for n in walk(vtree):
        if isinstance(n, ast.Name):
            used_names.add(n.id)
    for (local, full), line in sorted(vimports.items(), key=lambda kv: kv[1]):
        if (local, full) in limports or local == "*":
            continue
        if local not in used_names and local not in exported:
            add("unused-import", line, full.lstrip(".") if local == full else f"{full} as {local}",
                "imported by the rewrite, used nowhere in the _v2")

    # 4. methods the rewrite removed that something still calls; 5. methods left without a caller
    root = roots[0]
    fleet_set = set(fleet)
    legacy_mod = module_of(legacy, root)
    v2_mod = module_of(v2, root)
    for cname, linfos in lclasses.items():
        if cname not in vclasses:
            continue
        linfo = linfos[0]
        vinfo = vclasses[cname][0]
        vnames, vopen = resolve_members(vinfo, repo)
        lnames, _ = resolve_members(linfo, repo)
        for m in linfo.methods:
            if m in vinfo.methods or m in vnames:
                continue
            # in the _v2 file, outside the class (self.m reads are the self-attr check's)
            for line in calls_on_agent(vtree, cname, m, exclude_class=vinfo.node)[:1]:
                add("removed-referenced", line, f"{cname}.{m}", "removed from the class, still called on the agent in the _v2")
            for p in sorted(set(repo.referrers(cname)) & fleet_set):
                src, tree = parse(p)
                if tree is None:
                    continue
                if not ({legacy_mod, v2_mod} & imported_modules(tree)) and os.path.dirname(p) != os.path.dirname(os.path.realpath(legacy)):
                    continue
                for line in calls_on_agent(tree, cname, m)[:1]:
                    findings.append({"category": "removed-referenced", "file": p, "line": line, "symbol": f"{cname}.{m}",
                                     "detail": f"removed from {os.path.basename(v2)}, still called here on the agent"})
        # orphaned: kept, called before, called by nobody now
        base_names_v, _ = resolve_members_bases_only(vinfo, repo)
        base_names_l, _ = resolve_members_bases_only(linfo, repo)
        lrefs_by_method = {}
        vrefs_by_method = {}
        for m, fn in vinfo.methods.items():
            if m.startswith("__") and m.endswith("__"):
                continue
            if fn.decorator_list and not all(isinstance(d, ast.Name) and d.id in ("staticmethod", "classmethod") for d in fn.decorator_list):
                continue
            if m in base_names_v:
                continue  # a hook the base calls
            lfn = linfo.methods.get(m)
            lref = read_outside(ltree, lfn, m) or m in base_names_l
            if not lref:
                continue
            vref = read_outside(vtree, fn, m) or bool(set(repo.referrers(m)) & fleet_set)
            if not vref:
                add("orphaned-method", fn.lineno, f"{cname}.{m}", "kept, but the rewrite removed every call to it", legacy_callers(ltree, m))
    # module-level functions
    lfuncs = {n.name: n for n in ltree.body if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef))} if ltree is not None else {}
    for n in vtree.body:
        if isinstance(n, (ast.FunctionDef, ast.AsyncFunctionDef)) and n.name in lfuncs and not n.decorator_list and not n.name.startswith("__"):
            if not read_outside(ltree, lfuncs[n.name], n.name):
                continue
            if read_outside(vtree, n, n.name) or bool(set(repo.referrers(n.name)) & fleet_set):
                continue
            add("orphaned-method", n.lineno, n.name, "module function kept, but the rewrite removed every call to it")
    return findings


def legacy_callers(tree, name):
    """Names of the functions / classes enclosing each read of `name` in the legacy file."""
    out = set()

    def visit(node, stack):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            stack = stack + (node.name,)
        if read_name(node) == name:
            out.update(stack)
        for child in ast.iter_child_nodes(node):
            visit(child, stack)

    visit(tree, ())
    return out


def resolve_members_bases_only(info, repo):
    names = set()
    open_ = False
    fake = ClassInfo(ast.ClassDef(name=info.name + "__bases", bases=info.node.bases, keywords=[], body=[], decorator_list=[]), info.path, info.tree)
    n, o = resolve_members(fake, repo)
    names |= n
    open_ = open_ or o
    return names - set(dir(object)), open_


def pairs_under(root):
    cases = []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = sorted(d for d in dirnames if d not in (".git", "node_modules", "__pycache__", ".migrate"))
        for fn in sorted(filenames):
            if fn.endswith("_v2.py") and fn[:-6] + ".py" in filenames:
                cases.append({"legacy": os.path.join(dirpath, fn[:-6] + ".py"), "v2": os.path.join(dirpath, fn), "roots": [root]})
    return cases


def main(argv):
    # Every tree, its walk and its analyses are kept for the whole run (the caches above), and
    # none of them holds a cycle that must be freed before the end: the cyclic collector's
    # passes over those millions of objects were a third of the checker's CPU (fixtures/python:
    # 10.3 -> 7.1 CPU-s, peak memory the same).
    gc.disable()
    if len(argv) == 3 and argv[1] == "--root":
        data = {"cases": pairs_under(argv[2])}
    elif len(argv) == 2:
        data = json.load(sys.stdin if argv[1] == "-" else open(argv[1]))
    else:
        print(__doc__, file=sys.stderr)
        return 2
    findings = []
    for case in data["cases"]:
        try:
            findings.extend(check_case(case))
        except RecursionError:
            findings.append({"category": "checker-error", "file": case["v2"], "line": 0, "symbol": "", "detail": "recursion"})
    counts = {}
    for f in findings:
        if f["category"] == "acknowledged":
            continue
        counts[f["category"]] = counts.get(f["category"], 0) + 1
    acknowledged = [f for f in findings if f["category"] == "acknowledged"]
    findings = [f for f in findings if f["category"] != "acknowledged"]
    json.dump({"findings": findings, "acknowledged": acknowledged, "counts": counts, "cases": len(data["cases"])}, sys.stdout, indent=1)
    print()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
