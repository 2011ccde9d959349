"""A fuzzer for what Stagecraft reads: mutated stagecraft.yml, compose and env files, special files,
damaged state and odd arguments, run through the read-only commands. Deterministic for a seed.

Each case is a project folder (a copy of examples/shop, or an awesome-compose file with a generated
config) with one mutation. Its commands run in-process through the real entry point (fast), or as
processes (`subprocess=True`: true end to end, with a memory limit and the peak RSS measured).

Figures (see `Figures`): tried, exit 3, tracebacks, hangs, memory, refusals without a position,
accepted-invalid (a mutation that must be refused exited 0) and accepted-dangerous (a hostile value
that came back out un-inert: a shell payload ran, or Jinja reached the inventory unmarked).

Used by tests/unit/test_fuzz.py (a few hundred cases) and benchmarks/fuzz.py (thousands).
"""

from __future__ import annotations

import functools
import json
import os
import random
import resource
import shutil
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
SHOP = ROOT / "examples" / "shop"
CORPUS = ROOT / "tests" / "corpus" / "awesome-compose"
MARKER = "fuzz-pwned"  # a shell payload that runs creates this file in the case folder

HOSTILE = [
    f"$(touch {MARKER})", f"`touch {MARKER}`", f"; touch {MARKER}", f"a && touch {MARKER}", f"a | touch {MARKER}",
    "{{ lookup('pipe', 'touch " + MARKER + "') }}", "{% for x in range(9) %}x{% endfor %}", "{{ 7*7 }}",
    "../../../../etc/ld.so.conf.d/pwn", "/etc/passwd", "..", ".", "line1\nline2", "x\n", "\r\n", "}", "{", "{}",
    "a;b", "'", '"', "\\", "-oProxyCommand=touch " + MARKER, "--opt=device=/", "-", "--", "${HOME}", "$$",
    "${UNSET_FUZZ_VAR}", "${A:-${B}}", "", " ", "\t", "é", "💥", "\u202e", "\x00", "a\x00b", "A" * 5000,
    "%s%n", "*", "?", "[", "~root", "nan", "1e999", "0x1F", "null", "true", "on", "no", "=", "#", "a b c",
    "0.0.0.0/0", "::", "http://169.254.169.254/", "x" * 300 + "\n",
]
HOSTILE_KEYS = [1, True, None, 1.5, "on", "x-", "", " ", "a.b", "A-B", "é", "../x", "a\nb", "x" * 300]
ENV_FILES = [  # (text, must be refused)
    ("A=1\nB='unclosed\n", True), ("X=${X}${X}\n" * 3, False), ("=\n", True), ("A B=1\n", True),
    ("export\n", False), ("\x00=1\n", True), ("".join(f"K{i}=v\n" for i in range(200_000)), False),
    ("A=x\n" + "A=${A}${A}\n" * 40, True), ("\ufeffA=1\n", False), ("A=\"multi\nline\"\n", False), ("'k'=v\n", False),
    ("A=1\n" * 300_000, True),  # 1.2 MB: over the bound
]


class FuzzTimeout(BaseException):
    """Raised by the alarm in-process; a BaseException so the CLI's last-resort handler does not take it."""


@dataclass
class Case:
    number: int
    seed: str  # which project it starts from
    mutation: str
    env: str
    files: dict = field(default_factory=dict)  # relative path -> bytes | ("fifo",) | ("dir",) | ("link", target)
    commands: list = field(default_factory=list)  # argv lists
    must_refuse: bool = False  # exit 0 of the command that reads the mutated input is accepted-invalid
    environ: dict = field(default_factory=dict)


@dataclass
class Result:
    case: Case
    argv: list
    code: int | None
    stdout: str
    stderr: str
    seconds: float
    rss_mb: float
    problems: list
    as_process: bool = False


@dataclass
class Figures:
    tried: int = 0  # cases
    invocations: int = 0
    exit3: int = 0
    tracebacks: int = 0
    hangs: int = 0
    memory: int = 0
    unpositioned: int = 0  # a config refusal without file:line:col and key
    accepted_invalid: int = 0
    accepted_dangerous: int = 0
    refused: int = 0
    accepted: int = 0
    seconds: float = 0.0
    peak_rss_mb: float = 0.0  # of this (in-process) runner, all cases together
    process_peak_rss_mb: float = 0.0  # the largest of the commands run as processes
    processes: int = 0
    examples: dict = field(default_factory=dict)  # problem -> a few "mutation: argv: detail"

    def add(self, result: Result) -> None:
        self.invocations += 1
        self.seconds += result.seconds
        if result.as_process:
            self.processes += 1
            self.process_peak_rss_mb = max(self.process_peak_rss_mb, result.rss_mb)
        else:
            self.peak_rss_mb = max(self.peak_rss_mb, result.rss_mb)
        if result.code == 0:
            self.accepted += 1
        elif result.code in (1, 2):
            self.refused += 1
        for problem in result.problems:
            kind = problem.split(":", 1)[0]
            attr = kind.replace("-", "_")
            setattr(self, attr, getattr(self, attr) + 1)
            shown = self.examples.setdefault(kind, [])
            if len(shown) < 5:
                shown.append(f"case {result.case.number} {result.case.seed}/{result.case.mutation}: "
                             f"{' '.join(result.argv)[:120]}: {problem[:300]}")

    def failures(self) -> int:
        return (self.exit3 + self.tracebacks + self.hangs + self.memory + self.unpositioned + self.accepted_invalid
                + self.accepted_dangerous)

    def as_dict(self) -> dict:
        return {k: v for k, v in self.__dict__.items()}


# --- seeds -------------------------------------------------------------------------------------------

def _corpus_config(compose: dict) -> str:
    services = sorted((compose or {}).get("services") or {}) if isinstance(compose, dict) else []
    return yaml.safe_dump({
        "version": 1, "project": {"name": "fuzz"},
        "environments": {"prod": {"driver": "ssh", "hosts": {
            "app-1": {"roles": ["app"], "address": "127.0.0.1", "ssh": {"port": 1}}}}},
        "roles": {"app": {"services": services}}}, sort_keys=False)


@functools.cache
def seeds() -> list[tuple[str, str, dict]]:
    """(name, environment, files) of the projects cases start from."""
    shop = {str(p.relative_to(SHOP)): p.read_bytes() for p in SHOP.rglob("*") if p.is_file()}
    # its own project name: the local driver finds hosts by project label, and the example's are real elsewhere
    shop["stagecraft.yml"] = shop["stagecraft.yml"].replace(b"name: shop", b"name: fuzzshop")
    shop[".env.local"] = b"SHOP_DB_PASSWORD=pw-123456\nSHOP_DATABASE_URL=postgresql://shop:pw-123456@db/shop\n"
    shop[".env.dev"] = b"SHOP_DB_PASSWORD=pw-123456\n"
    out = [("shop", "local", shop)]
    for path in sorted(CORPUS.glob("*/compose.yaml")):
        text = path.read_bytes()
        compose = yaml.safe_load(text)
        out.append((path.parent.name, "prod", {"compose.yaml": text,
                                               "stagecraft.yml": _corpus_config(compose).encode()}))
    return out


# --- mutations ---------------------------------------------------------------------------------------

def _leaves(node, path=()):
    """(path, value) of every scalar, and every mapping/list as well."""
    yield path, node
    if isinstance(node, dict):
        for k, v in node.items():
            yield from _leaves(v, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from _leaves(v, path + (i,))


def _set(node, path, value):
    if not path:
        return value
    target = node
    for part in path[:-1]:
        target = target[part]
    target[path[-1]] = value
    return node


def _schema_sample(schema: dict, rng: random.Random, depth=0):
    """A value shaped like `schema`, its strings hostile half of the time."""
    root = _schema()
    if "$ref" in schema:
        schema = root["$defs"][schema["$ref"].rsplit("/", 1)[1]]
    for key in ("oneOf", "anyOf"):
        if key in schema:
            return _schema_sample(rng.choice(schema[key]), rng, depth)
    if "enum" in schema:
        return rng.choice(schema["enum"])
    if "const" in schema:
        return schema["const"]
    kind = schema.get("type")
    kind = rng.choice(kind) if isinstance(kind, list) else kind
    if kind == "object" or "properties" in schema:
        if depth > 5:
            return {}
        out = {}
        for name, sub in (schema.get("properties") or {}).items():
            if name in schema.get("required", ()) or rng.random() < 0.5:
                out[name] = _schema_sample(sub, rng, depth + 1)
        extra = schema.get("additionalProperties")
        if isinstance(extra, dict) and rng.random() < 0.7:
            for _ in range(rng.randint(1, 2)):
                out[rng.choice(["a", "web", "db", "x1", rng.choice(HOSTILE)])] = _schema_sample(extra, rng, depth + 1)
        return out
    if kind == "array":
        return [_schema_sample(schema.get("items") or {}, rng, depth + 1) for _ in range(rng.randint(0, 2))]
    if kind == "integer":
        return rng.choice([0, 1, 22, 80, 65535, 65536, -1, 10 ** 30])
    if kind == "number":
        return rng.choice([0.5, 1e308, -1.0])
    if kind == "boolean":
        return rng.random() < 0.5
    return rng.choice(HOSTILE) if rng.random() < 0.5 else rng.choice(["web", "a", "prod", "x.example.com", "/srv"])


_SCHEMA: dict = {}


def _schema() -> dict:
    if not _SCHEMA:
        _SCHEMA.update(json.loads((ROOT / "spec" / "stagecraft.schema.json").read_text()))
    return _SCHEMA


def _bomb(levels: int) -> str:
    lines = ["x-a: &a [1,1,1,1,1,1,1,1,1,1]"]
    names = "abcdefghijklmnop"[:levels]
    for prev, cur in zip(names, names[1:]):
        lines.append(f"x-{cur}: &{cur} [" + ",".join([f"*{prev}"] * 10) + "]")
    return "\n".join(lines) + "\n"


# Free-form values that reach the inventory, the rendered files or argv ("*": the seed's environment and first
# host): where a hostile value must come out inert, or be refused.
DESTINATIONS = [
    ("environments", "*", "vars", "x"), ("environments", "*", "hosts", "*", "vars", "x"),
    ("environments", "*", "ssh", "user"), ("environments", "*", "hosts", "*", "address"),
    ("environments", "*", "hosts", "*", "ssh", "user"), ("services", "web", "public", "host"),
    ("services", "web", "public", "path"), ("project", "registry"), ("firewall", "ssh_from"),
]


def _destination(data: dict, env: str, rng: random.Random) -> tuple[dict, str]:
    path = rng.choice(DESTINATIONS)
    host = next(iter((data.get("environments", {}).get(env) or {}).get("hosts") or {"h1": {}}))
    node = data
    parts = [env if p == "*" and i == 1 else host if p == "*" else p for i, p in enumerate(path)]
    for part in parts[:-1]:
        node = node.setdefault(part, {}) if isinstance(node.get(part), dict) or part not in node else node[part]
        if not isinstance(node, dict):
            return data, "noop"
    node[parts[-1]] = [rng.choice(HOSTILE)] if parts[-1] == "ssh_from" else rng.choice(HOSTILE)
    return data, "destination-" + ".".join(p for p in path if p != "*")


def _tree_mutation(data, rng: random.Random) -> tuple[object, str, bool]:
    """(new data, name, must_refuse) from a change to the parsed document."""
    leaves = list(_leaves(data))
    path, value = rng.choice(leaves)
    choice = rng.randrange(6)
    if choice == 0:
        strings = [(p, v) for p, v in leaves if isinstance(v, str)] or leaves
        path, _ = rng.choice(strings)
        return _set(data, path, rng.choice(HOSTILE)), "hostile-string", False
    if choice == 1:  # every string at once
        for p, v in leaves:
            if isinstance(v, str) and p:
                _set(data, p, rng.choice(HOSTILE))
        return data, "hostile-strings", False
    if choice == 2:
        other = rng.choice([None, 0, -1, 10 ** 40, 1.5, True, [], {}, [1, "a"], {"a": 1}, "text",
                            [[[[[[[[1]]]]]]]], float("nan")])
        return _set(data, path, other), "wrong-type", isinstance(other, float) and other != other
    if choice == 3 and isinstance(value, dict):
        value[rng.choice(HOSTILE_KEYS)] = rng.choice(HOSTILE)
        return data, "odd-key", False
    if choice == 4 and isinstance(value, dict) and value:
        del value[rng.choice(list(value))]
        return data, "deleted-key", False
    if isinstance(data, dict):  # a whole section from the schema, hostile strings inside
        section = rng.choice(sorted(_schema()["properties"]))
        data[section] = _schema_sample(_schema()["properties"][section], rng)
        return data, f"schema-{section}", False
    return data, "noop", False


def _text_mutation(text: str, rng: random.Random) -> tuple[bytes, str, bool]:
    """(new bytes, name, must_refuse) from a change to the text."""
    text = text if text.endswith("\n") else text + "\n"
    lines = text.splitlines(keepends=True) or ["\n"]
    choice = rng.randrange(14)
    top = [i for i, line in enumerate(lines) if line[:1].isalpha()]
    if choice == 0 and top:
        i = rng.choice(top)
        return (text + lines[i].split(":")[0] + ": {}\n").encode(), "duplicate-key", True
    if choice == 1:
        key = rng.choice(["on", "no", "yes", "1", "~", "1.5", "2001-01-01", "[a]", "{a: 1}"])
        return (text + f"{key}: x\n").encode(), "non-string-key", True
    if choice == 2:
        return (text + _bomb(rng.randint(6, 12))).encode(), "alias-bomb", True
    if choice == 3:
        return (text + "x-rec: &r [*r]\n").encode(), "recursive-alias", True
    if choice == 4:
        n = rng.choice([70, 500, 20000])
        return (text + "x-deep: " + "[" * n + "]" * n + "\n").encode(), "deep-nesting", True
    if choice == 5:
        value = rng.choice([".nan", ".inf", "-.inf", "9" * 5000, "1.0e+999"])
        return (text + f"x-num: {value}\n").encode(), "odd-number", True
    if choice == 6:
        i = rng.randrange(len(text) + 1)
        return (text[:i] + chr(rng.choice([0, 1, 7, 8, 0x1b, 0x7f, 0xfffe])) + text[i:]).encode(), "control-char", \
            True
    if choice == 7:
        encoding = rng.choice(["utf-16", "utf-16-le", "utf-32", "latin-1", "cp1252"])
        data = (text + "x-name: caf\xe9\n").encode(encoding, errors="replace")
        return data, f"encoding-{encoding}", True  # a BOM, NUL bytes or a byte that is not UTF-8
    if choice == 8:
        return (text + "x-pad: '" + "x" * (1 << 20) + "'\n").encode(), "over-1mb", True
    if choice == 9:
        raw = bytearray(text.encode())
        for _ in range(rng.randint(1, 8)):
            if raw:
                raw[rng.randrange(len(raw))] = rng.randrange(256)
        return bytes(raw), "byte-flips", False
    if choice == 10:
        return text[:rng.randrange(len(text) + 1)].encode(), "truncated", False
    if choice == 11:
        i = rng.randrange(len(lines))
        lines.insert(i, rng.choice(["\t", "  - ", "? ", "&a ", "*a\n", "!!python/object:os.system x\n",
                                    "!reset\n", "<<: *nope\n", "%YAML 1.1\n---\n", "...\n", "--- |\n"]))
        return "".join(lines).encode(), "yaml-syntax", False
    if choice == 12:
        return (text + "x-big: &big " + json.dumps(["y" * 100] * 100) + "\nx-more: [" +
                ",".join(["*big"] * 1500) + "]\n").encode(), "alias-wide", True
    return ("\n---\n".join([text, text])).encode(), "two-documents", True


FILE_KEYS = {  # how a config names a file, for the special-file cases
    "env_file": lambda cfg, env, name: cfg["environments"][env].__setitem__("env_file", name),
    "known_hosts": lambda cfg, env, name: cfg["environments"][env].setdefault("ssh", {}).__setitem__(
        "known_hosts", name),
    "ssh_key": lambda cfg, env, name: cfg["environments"][env].setdefault("ssh", {}).__setitem__("key", name),
    "registry_ca_file": lambda cfg, env, name: cfg["project"].update(
        {"registry": "registry.example.com/acme", "images": {"transport": "registry", "registry_ca_file": name}}),
    "compose_file": lambda cfg, env, name: cfg["project"].__setitem__("compose_file", name),
}
SPECIAL = {"fifo": ("fifo",), "dir": ("dir",), "dev-zero": ("link", "/dev/zero"), "dev-null": ("link", "/dev/null"),
           "dev-tty": ("link", "/dev/tty"), "dev-urandom": ("link", "/dev/urandom"), "proc": ("link", "/proc/self/mem")}

READ_ONLY = [["config", "show"], ["inventory"], ["render"], ["plan"], ["releases", "list"], ["lock", "status"],
             ["audit"], ["status"]]


def make_case(number: int, rng: random.Random, seed_list) -> Case:
    # examples/shop (every section, a local environment) 40% of the time; the compose corpus the rest
    name, env, base = seed_list[0] if rng.random() < 0.4 else rng.choice(seed_list[1:])
    files = dict(base)
    config_name = "stagecraft.yml"
    compose_name = "docker-compose.yml" if name == "shop" else "compose.yaml"
    kind = rng.choices(["config-tree", "config-text", "compose-tree", "compose-text", "special-file", "env-file",
                        "state", "args"], weights=[30, 20, 10, 8, 10, 8, 7, 7])[0]
    case = Case(number, name, kind, env)
    follow = rng.choice(READ_ONLY)
    tail = [*follow, "-e", env] if follow[0] not in ("releases", "audit") or rng.random() < 0.5 else follow
    case.commands = [["config", "validate", "-o", "json"], tail]
    if kind in ("config-tree", "compose-tree"):
        target = config_name if kind == "config-tree" else compose_name
        data = yaml.safe_load(files[target])
        if kind == "config-tree" and rng.random() < 0.3:
            data, case.mutation = _destination(data, env, rng)
            case.commands = [["config", "validate", "-o", "json"], ["inventory", "-e", env], ["render", "-e", env]]
        else:
            data, case.mutation, case.must_refuse = _tree_mutation(data, rng)
        try:
            files[target] = yaml.safe_dump(data, sort_keys=False, allow_unicode=rng.random() < 0.5).encode()
        except (yaml.YAMLError, ValueError, RecursionError):
            files[target] = str(data).encode()
        case.mutation = f"{kind}:{case.mutation}"
        if kind == "config-tree" and rng.random() < 0.5:  # where accepted values come out again
            case.commands[1] = ["inventory", "-e", env]
        if kind == "compose-tree" and rng.random() < 0.3:
            case.commands.append(["init", "--dry-run", "--non-interactive", "-c", "new.yml"])
    elif kind in ("config-text", "compose-text"):
        target = config_name if kind == "config-text" else compose_name
        files[target], mutation, case.must_refuse = _text_mutation(files[target].decode(), rng)
        case.mutation = f"{kind}:{mutation}"
    elif kind == "special-file":
        key = rng.choice(sorted(FILE_KEYS))
        special = rng.choice(sorted(SPECIAL))
        data = yaml.safe_load(files[config_name])
        FILE_KEYS[key](data, env, "special")
        files[config_name] = yaml.safe_dump(data, sort_keys=False).encode()
        files["special"] = SPECIAL[special]
        case.mutation = f"special:{key}={special}"
        case.must_refuse = True
        if rng.random() < 0.2:  # the config itself
            files[config_name] = SPECIAL[special]
            case.mutation = f"special:config={special}"
            case.must_refuse = True
    elif kind == "env-file":
        data = yaml.safe_load(files[config_name])
        data["environments"][env]["env_file"] = ".env.fuzz"
        files[config_name] = yaml.safe_dump(data, sort_keys=False).encode()
        text, case.must_refuse = rng.choice(ENV_FILES + [(f"A={rng.choice(HOSTILE)!r}\n", False),
                                                         (f"A={rng.choice(HOSTILE)}\n", False)])
        files[".env.fuzz"] = text.encode("utf-8", errors="surrogatepass")
        case.mutation = f"env-file:{ENV_FILES.index((text, case.must_refuse)) if (text, case.must_refuse) in ENV_FILES else 'hostile'}"
        case.commands = [["config", "show", "-e", env, "-o", "json"], ["inventory", "-e", env]]
    elif kind == "state":
        damage = rng.choice(["random", "truncated", "file-as-dir", "fifo-db", "dir-db", "empty"])
        if damage == "random":
            files[".stagecraft/state.db"] = rng.randbytes(rng.choice([1, 100, 5000]))
        elif damage == "truncated":
            files[".stagecraft/state.db"] = b"SQLite format 3\x00" + rng.randbytes(200)
        elif damage == "file-as-dir":
            files[".stagecraft"] = b"not a folder"
        elif damage == "fifo-db":
            files[".stagecraft/state.db"] = ("fifo",)
        elif damage == "dir-db":
            files[".stagecraft/state.db"] = ("dir",)
        else:
            files[".stagecraft/state.db"] = b""
        case.mutation = f"state:{damage}"
        case.must_refuse = damage not in ("empty",)
        case.commands = [["releases", "list"], ["plan", "-e", env], ["releases", "show", "rel-x", "-o", "json"]]
    else:
        value = rng.choice(["9" * 30, "-1", "0", "nan", "inf", "1e999", "", "x", "2147483648", "18446744073709551616"])
        case.commands = [rng.choice([["releases", "list", "--limit", value], ["audit", "--limit", value],
                                     ["prune", "-e", env, "--keep", value, "--dry-run"],
                                     ["deploy", "-e", env, "--lock-wait", value, "--dry-run"]]),
                         [rng.choice(READ_ONLY)[0], "-e", rng.choice(HOSTILE)]]
        case.commands = [[*c, "-o", "json"] if rng.random() < 0.5 else c for c in case.commands]
        case.mutation = f"args:{value}"
    case.files = files
    return case


def cases(seed: int, count: int) -> list[Case]:
    rng = random.Random(seed)
    seed_list = seeds()
    return [make_case(i, rng, seed_list) for i in range(count)]


# --- running -----------------------------------------------------------------------------------------

def materialize(case: Case, folder: Path) -> None:
    if folder.exists():
        _remove(folder)
    folder.mkdir(parents=True)
    for rel, content in sorted(case.files.items(), key=lambda kv: kv[0].count("/")):
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True) if not path.parent.is_file() else None
        if isinstance(content, tuple):
            if content[0] == "fifo":
                os.mkfifo(path)
            elif content[0] == "dir":
                path.mkdir()
            else:
                path.symlink_to(content[1])
        elif not path.parent.is_dir():
            continue  # below a file that replaced a folder
        else:
            path.write_bytes(content)


def _remove(folder: Path) -> None:
    shutil.rmtree(folder, ignore_errors=True)


def _in_process(argv, folder: Path, timeout: float, environ: dict):
    from click.testing import CliRunner

    from stagecraft.cli.main import main

    runner = CliRunner()
    old_cwd, old_umask = os.getcwd(), os.umask(0o022)
    os.umask(old_umask)
    code = None

    def alarm(signum, frame):
        raise FuzzTimeout()

    previous = signal.signal(signal.SIGALRM, alarm)
    os.chdir(folder)
    try:
        with runner.isolation(env={"STAGECRAFT_STATE_DIR": None, **environ}) as (out, err, *_):
            signal.setitimer(signal.ITIMER_REAL, timeout)
            try:
                main(list(argv))
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else (0 if exc.code is None else 1)
            except FuzzTimeout:
                code = None
            finally:
                signal.setitimer(signal.ITIMER_REAL, 0)
            stdout, stderr = out.getvalue().decode(errors="replace"), err.getvalue().decode(errors="replace")
    finally:
        signal.signal(signal.SIGALRM, previous)
        os.chdir(old_cwd)
        os.umask(old_umask)
    return code, stdout, stderr, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


_CHILD = ("import resource, sys, atexit\n"
          "atexit.register(lambda: sys.stderr.write('\\nFUZZ-MAXRSS=%d\\n' % "
          "resource.getrusage(resource.RUSAGE_SELF).ru_maxrss))\n"
          "from stagecraft.cli.main import main\nmain(sys.argv[1:])\n")


def _as_process(argv, folder: Path, timeout: float, environ: dict, memory_mb: int):
    env = {k: v for k, v in os.environ.items() if not k.startswith("STAGECRAFT_")}
    env.update(environ)
    env["PYTHONPATH"] = str(ROOT)

    def limit():
        resource.setrlimit(resource.RLIMIT_AS, (memory_mb << 20, memory_mb << 20))

    argv = [a.replace("\x00", "") for a in argv]  # a real command line cannot hold NUL
    try:
        proc = subprocess.run([sys.executable, "-c", _CHILD, *argv], cwd=folder, env=env, capture_output=True,
                              text=True, timeout=timeout, preexec_fn=limit, stdin=subprocess.DEVNULL,
                              errors="replace")
    except subprocess.TimeoutExpired:
        return None, "", "", 0.0
    stderr, _, rss = proc.stderr.rpartition("\nFUZZ-MAXRSS=")
    return proc.returncode, proc.stdout, stderr if rss else proc.stderr, int(rss or 0) / 1024


def _positioned(stdout: str) -> bool:
    try:
        data = json.loads(stdout)
    except ValueError:
        return False
    errors = data.get("errors") if isinstance(data, dict) else None
    return bool(errors) and all({"file", "line", "column", "key"} <= set(e) for e in errors)


def _dangerous(case: Case, argv, code, stdout: str, folder: Path) -> str | None:
    config = case.files.get("stagecraft.yml")
    runs_commands = isinstance(config, bytes) and b"command" in config  # secrets.command runs by design
    if (folder / MARKER).exists() and not runs_commands:
        return f"a shell payload ran ({MARKER} exists after {' '.join(argv)})"
    if code == 0 and argv[0] == "inventory" and "-o" not in argv:
        for line in stdout.splitlines():
            if ("{{" in line or "{%" in line) and "!unsafe" not in line:
                return f"Jinja reaches the inventory unmarked: {line.strip()[:120]}"
    return None


def run_case(case: Case, folder: Path, *, subprocess_mode=False, timeout=30.0, memory_mb=2048,
             rss_limit_mb=1024) -> list[Result]:
    materialize(case, folder)
    results = []
    try:
        for i, argv in enumerate(case.commands):
            start = time.monotonic()
            before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
            if subprocess_mode:
                code, out, err, rss = _as_process(argv, folder, timeout, case.environ, memory_mb)
            else:
                code, out, err, rss = _in_process(argv, folder, timeout, case.environ)
            seconds = time.monotonic() - start
            problems = []
            if code is None:
                problems.append(f"hangs: no answer within {timeout:.0f} s")
            elif code == 3:
                problems.append("exit3: " + (err.strip().splitlines() or ["?"])[0])
            elif code not in (0, 1, 2):
                problems.append(f"exit3: exit code {code}: " + err.strip()[-200:])
            if "Traceback (most recent call last)" in out + err:
                problems.append("tracebacks: " + err.strip()[-300:])
            grew = rss - before if not subprocess_mode else rss
            if grew > rss_limit_mb or (subprocess_mode and "MemoryError" in err):
                problems.append(f"memory: peak RSS {rss:.0f} MB")
            if code == 1 and argv[:2] == ["config", "validate"] and not _positioned(out):
                problems.append("unpositioned: " + (err.strip().splitlines() or ["?"])[-1][:200])
            reads_mutation = i == 0 or case.mutation.startswith(("state", "env-file", "args"))
            if code == 0 and case.must_refuse and reads_mutation:
                problems.append(f"accepted-invalid: {case.mutation} passed {' '.join(argv)}")
            danger = _dangerous(case, argv, code, out, folder)
            if danger:
                problems.append("accepted-dangerous: " + danger)
            results.append(Result(case, argv, code, out, err, seconds, rss, problems, subprocess_mode))
    finally:
        _remove(folder)
    return results


def run(seed: int, count: int, workdir: Path, *, subprocess_every: int = 0, timeout: float = 30.0,
        progress=None) -> Figures:
    """Run `count` cases; every `subprocess_every`-th case (0: none) runs as processes instead."""
    figures = Figures()
    for case in cases(seed, count):
        as_process = bool(subprocess_every) and case.number % subprocess_every == 0
        results = run_case(case, workdir / f"case-{case.number}", subprocess_mode=as_process, timeout=timeout)
        figures.tried += 1
        for result in results:
            figures.add(result)
        if progress:
            progress(case, results, figures)
    return figures
