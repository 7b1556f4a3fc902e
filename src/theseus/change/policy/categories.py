"""What the construct rules look for: categories of dotted names and modules.

Two kinds of category live here. :data:`CATEGORIES` are the ones ``policy.forbidden``
switches on and off (process, network, dynamic code, ctypes, filesystem escapes). The
:data:`HARD` ones are always on and no setting or consent lifts them: they are the paths
by which code reaches capabilities it never imported (evaluating strings, walking frames
and class graphs to other modules' globals, unpickling, calling C). A project that
switches ``dynamic-code`` off in ``policy.forbidden`` still cannot add ``eval``; the list
only ever *adds* categories.

:data:`CONSENTABLE` names the categories whose *modules* a person may approve under
``policy.capability_changes = "consent"``: approving "this change imports socket" must
also cover ``socket.create_connection``, or consent would be meaningless. Their named
functions (``os.system``, ``os.exec*``) stay violations.
"""

from __future__ import annotations

from dataclasses import dataclass

from theseus.errors import ConfigError


@dataclass(frozen=True)
class Category:
    modules: frozenset[str] = frozenset()  # importing these (or submodules) is forbidden
    names: frozenset[str] = frozenset()  # dotted names that may not be referenced
    prefixes: tuple[str, ...] = ()  # dotted-name prefixes, e.g. os.exec for execv/execvp...


@dataclass(frozen=True)
class Construct:
    """One finding: ``key`` says what (``import socket``, ``getattr(<computed name>)``);
    ``via_module`` is True when it matched only because it uses a category's module."""

    category: str
    key: str
    line: int
    via_module: bool = False


CATEGORIES: dict[str, Category] = {
    "process": Category(
        modules=frozenset({"subprocess", "multiprocessing", "pty", "pexpect", "sh"}),
        names=frozenset(
            {
                "os.system",
                "os.popen",
                "os.fork",
                "os.forkpty",
                "os.posix_spawn",
                "os.posix_spawnp",
                "os.startfile",
                "asyncio.create_subprocess_exec",
                "asyncio.create_subprocess_shell",
                "concurrent.futures.ProcessPoolExecutor",
            }
        ),
        prefixes=("os.exec", "os.spawn"),
    ),
    "network": Category(
        modules=frozenset(
            {
                "socket",
                "socketserver",
                "ssl",
                "http.client",
                "http.server",
                "urllib.request",
                "urllib3",
                "requests",
                "httpx",
                "aiohttp",
                "ftplib",
                "smtplib",
                "poplib",
                "imaplib",
                "telnetlib",
                "xmlrpc.client",
                "websocket",
                "websockets",
            }
        ),
        names=frozenset({"asyncio.open_connection", "asyncio.start_server"}),
    ),
    "dynamic-code": Category(
        modules=frozenset({"runpy"}),
        names=frozenset(
            {
                "eval",
                "exec",
                "compile",
                "__import__",
                "importlib.import_module",
                "importlib.__import__",
                "builtins.eval",
                "builtins.exec",
                "builtins.compile",
                "builtins.__import__",
            }
        ),
    ),
    "ctypes": Category(modules=frozenset({"ctypes", "_ctypes", "cffi"})),
    "filesystem-escape": Category(
        names=frozenset({"shutil.rmtree", "os.chdir", "os.fchdir", "os.chroot"})
    ),
}

HARD: dict[str, Category] = {
    "dynamic-code": Category(
        modules=frozenset({"importlib", "runpy", "code", "codeop", "pydoc", "timeit"}),
        names=frozenset(
            {
                "eval",
                "exec",
                "compile",
                "__import__",
                "__build_class__",
                "breakpoint",
                "help",
                "typing.get_type_hints",  # evaluates string annotations
                "typing.ForwardRef",
                "typing_extensions.get_type_hints",
                "inspect.get_annotations",
            }
        ),
    ),
    "dynamic-access": Category(
        modules=frozenset({"builtins", "__builtin__"}),
        names=frozenset(
            {
                "vars",
                "globals",
                "locals",
                "sys.modules",
                "sys.meta_path",
                "sys.path_hooks",
                "sys.path_importer_cache",
            }
        ),
    ),
    "introspection": Category(
        names=frozenset(
            {
                "sys._getframe",
                "sys._current_frames",
                "sys._current_exceptions",
                "sys.settrace",
                "sys.setprofile",
                "threading.settrace",
                "threading.setprofile",
                "inspect.currentframe",
                "inspect.stack",
                "inspect.trace",
                "inspect.getouterframes",
                "inspect.getinnerframes",
                "inspect.getmembers",
                "inspect.getclosurevars",
                "gc.get_objects",
                "gc.get_referrers",
                "gc.get_referents",
            }
        ),
    ),
    "deserialization": Category(
        modules=frozenset(
            {"pickle", "_pickle", "cPickle", "marshal", "shelve", "dill", "cloudpickle"}
        )
    ),
    "ctypes": Category(modules=frozenset({"ctypes", "_ctypes", "cffi"})),
}

CONSENTABLE = frozenset({"process", "network"})


def categories_for(names: list[str], extra: list[str]) -> dict[str, Category]:
    """The categories a policy names; ConfigError for an unknown one."""
    chosen = {}
    for name in names:
        if name not in CATEGORIES:
            raise ConfigError(
                f"policy.forbidden: unknown category {name!r}",
                hint=f"choose from {', '.join(sorted(CATEGORIES))}",
            )
        chosen[name] = CATEGORIES[name]
    if extra:
        chosen["custom"] = Category(names=frozenset(extra))
    return chosen


def with_hard(categories: dict[str, Category]) -> dict[str, Category]:
    """``categories`` plus every :data:`HARD` one (merged where the names meet)."""
    merged = dict(categories)
    for name, hard in HARD.items():
        mine = merged.get(name, Category())
        merged[name] = Category(
            modules=mine.modules | hard.modules,
            names=mine.names | hard.names,
            prefixes=mine.prefixes + hard.prefixes,
        )
    return merged


def hits_module(category: Category, module: str) -> bool:
    """Importing ``module`` falls in ``category`` (it is one of its modules or inside one)."""
    return any(module == m or module.startswith(m + ".") for m in category.modules)


def hits_name(category: Category, dotted: str) -> bool | None:
    """None when referencing ``dotted`` is fine for ``category``; otherwise whether it
    matched only through one of the category's modules (True) or by name (False)."""
    if dotted in category.names or dotted.startswith(category.prefixes):
        return False
    if any(dotted.startswith(m + ".") for m in category.modules):
        return True
    return None
