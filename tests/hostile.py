"""Hostile strings in every string value of a full stagecraft.yml, and where each one ends up.

Used by tests/unit/test_hostile_values.py (a few hostile strings, every key) and
benchmarks/hostile_values.py (every hostile string, every key, also through ${VAR}):

    project = HostileProject(tmp_path)                # the example shop, plus every destination key
    for path in project.string_paths(): ...           # ("environments", "prod", "ssh", "user"), ...
    outcome = project.try_value(path, HOSTILE[0])     # Outcome(refused=..., named=..., problems=[...])

A value is either refused with its key path in the message, or accepted; an accepted value must reach
every destination as inert data (`problems` lists where it did not):
- the Ansible inventory a deploy hands to ansible-runner: every string value tagged !unsafe (never
  templated), keys only names;
- each host's compose file: the same structure (keys) as with a harmless value;
- the edge proxy's routes (JSON): the same structure as with a harmless value;
- the ssh argv of each host: the same options, the user after -l and the address after --.
Keys whose value is a command by design (ssh.extra_args, pre_stop, dev commands, secrets commands...)
are run as commands on purpose: they count as `command` keys, and still must reach Ansible unsafe-marked.
"""

from __future__ import annotations

import copy
import json
import re
import shutil
from dataclasses import dataclass, field
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "shop"
PWNED = "/tmp/stagecraft-pwned"

# Every kind at once: Jinja expressions and blocks, shell substitutions, ';', '../', a newline, braces,
# quotes, a backslash and a leading option.
KITCHEN_SINK = ("-oProxyCommand=touch " + PWNED + "-opt;{{ lookup('pipe', 'touch " + PWNED + "-jinja') }}"
                "{% if 1 %}{% endif %}$(touch " + PWNED + "-sh)`touch " + PWNED + "-tick`/../../etc\n}\n'\"\\{x}")

HOSTILE = [
    "{{ lookup('pipe', 'touch %s-jinja; echo 10.0.0.1') }}" % PWNED,
    "{% for x in [1] %}{{ lookup('pipe', 'touch " + PWNED + "-block') }}{% endfor %}",
    "#jinja2:variable_start_string:'[[', variable_end_string:']]'\n[[ lookup('pipe', 'touch %s-header') ]]" % PWNED,
    "$(touch %s-sh); `touch %s-tick`" % (PWNED, PWNED),
    "x; touch %s-semi #" % PWNED,
    "../../../../etc/ld.so.conf.d/pwn",
    "line1\nline2: injected",
    "x }\n    location / { return 200 pwned; }\n#",
    "it's \"quoted\" \\ back",
    "-oProxyCommand=touch %s-opt" % PWNED,
    "--opt device=/ --opt o=bind",
    "a{b}c",
]

# Keys whose value is a command line or argv by design: the user asks Stagecraft to run it.
COMMAND_KEYS = [
    r"environments\.\w+(\.hosts\.[\w-]+)?\.ssh\.extra_args",
    r"services\.\w+\.rollout\.pre_stop\[\d+\]",
    r"(backend|frontend)\.generic\.dev\.command\[\d+\]",
    r"secrets\.commands?(\.\w+)?",
    r"ci\.test_command",
]

EXTRA_ENV = {
    "driver": "ssh",
    "env_file": ".env.prod",
    "ssh": {"user": "deploy", "key": "keys/deploy", "known_hosts": "keys/known_hosts",
            "extra_args": "-o ServerAliveInterval=5"},
    "vars": {"app_note": "hello", "app_list": ["a", {"b": "c"}]},
    "hosts": {
        "db-1": {"roles": ["data"], "address": "10.0.0.20", "vars": {"note": "x"}},
        "app-1": {"roles": ["app"], "address": "10.0.0.11"},
        "gw-1": {"roles": ["gateway"], "address": "gw.example.com", "ssh": {"user": "admin", "port": 2222}},
    },
}


def _format_path(path) -> str:
    from stagecraft.config.issues import format_path

    return format_path(path)


@dataclass
class Outcome:
    path: tuple
    value: str
    refused: bool = False
    named: bool = False  # the refusal names the key path
    command: bool = False  # a command key (run on purpose)
    message: str = ""
    problems: list = field(default_factory=list)  # destinations where an accepted value is not inert

    @property
    def dangerous(self) -> bool:
        return not self.refused and bool(self.problems)


class HostileProject:
    def __init__(self, directory: Path):
        self.dir = Path(directory)
        shutil.copytree(EXAMPLE, self.dir, dirs_exist_ok=True, ignore=shutil.ignore_patterns(".stagecraft", ".env*"))
        data = yaml.safe_load((EXAMPLE / "stagecraft.yml").read_text())
        data["project"]["registry"] = "registry.example.com/acme"
        data["environments"]["prod"] = EXTRA_ENV
        data["environments"]["local"]["vars"] = {"local_note": "x"}
        data["services"]["web"]["public"] = {"host": "shop.example.com", "path": "/"}
        data["services"]["web"]["rollout"]["pre_stop"] = ["/bin/busybox", "sh", "-c", "sleep 1"]
        data["volumes"] = {"directories": [{"path": "/srv/shop/data", "owner": "999", "mode": "0700",
                                            "roles": ["data"]}],
                           "docker": [{"name": "shopdata", "roles": ["data"]}],
                           "block": [{"device": "/dev/sdb", "mount": "/mnt/data", "roles": ["data"]}]}
        data["firewall"] = {"allow": [{"port": "9100", "proto": "tcp", "from": ["10.0.0.0/8"]}]}
        data["network"] = {"provider": "tailscale",
                           "tailscale": {"auth_key_env": "TS_KEY", "tags": ["tag:shop"],
                                         "login_server": "https://hs.example.com"}}
        self.data = data
        compose = yaml.safe_load((EXAMPLE / "docker-compose.yml").read_text())
        compose["services"]["web"]["environment"]["APP_NOTE"] = "plain"
        self.compose = compose
        for name in (".env.local", ".env.prod", ".env.dev"):
            (self.dir / name).write_text("SHOP_DB_PASSWORD=pw-1234\nSHOP_DATABASE_URL=postgresql://shop:pw-1234@db/shop\n")
        (self.dir / "keys").mkdir(exist_ok=True)
        self.baseline = {env: self.destinations(self._load(data, compose, env), env) for env in ("prod", "local")}

    def string_paths(self, compose: bool = False) -> list[tuple]:
        """Every string value of the config (mapping keys excluded), as key paths; with compose=True those of
        the compose file, as ("compose", ...) paths."""
        out = []

        def walk(node, path):
            if isinstance(node, str):
                out.append(path)
            elif isinstance(node, dict):
                for k, v in node.items():
                    walk(v, path + (k,))
            elif isinstance(node, list):
                for i, v in enumerate(node):
                    walk(v, path + (i,))

        walk(self.compose, ("compose",)) if compose else walk(self.data, ())
        return out

    def _with(self, path: tuple, value) -> tuple[dict, dict]:
        """(config, compose file) with the value at path."""
        data, compose = copy.deepcopy(self.data), copy.deepcopy(self.compose)
        node, parts = (compose, path[1:]) if path[:1] == ("compose",) else (data, path)
        for part in parts[:-1]:
            node = node[part]
        node[parts[-1]] = value
        return data, compose

    def _load(self, data, compose, env_name: str, environ: dict | None = None):
        from stagecraft.config import load_config

        (self.dir / "docker-compose.yml").write_text(yaml.dump(compose, Dumper=_CDumper, sort_keys=False))
        (self.dir / "stagecraft.yml").write_text(yaml.dump(data, Dumper=_CDumper, sort_keys=False))
        loaded = load_config(self.dir / "stagecraft.yml")
        return loaded.resolve(env_name, environ=dict(environ or {}))

    def destinations(self, r, env_name: str) -> dict:
        """What each destination gets for one environment: inventory text, compose files, edge routes, argv."""
        from stagecraft.commands import ssh
        from stagecraft.commands.inventory import host_addresses, to_yaml
        from stagecraft.config import compose_document
        from stagecraft.deploy.inventory import deploy_inventory
        from stagecraft.deploy.render import render_all

        config, env = r.config, r.environment
        compose = compose_document(config.project.compose_path(config.base_dir))
        desired = render_all(config, env, host_addresses(env, {}), compose, "v1", "stagecraft/edge:1",
                             sorted(r.variables))
        inv = deploy_inventory(config, env, {}, state_dir=self.dir / ".stagecraft", connection_defaults={},
                               desired=desired, compose=compose)
        return {"inventory": to_yaml(inv.document),
                "compose": {h: d.definition for h, d in desired.items()},
                "edge": {h: d.edge_config for h, d in desired.items()},
                "argv": {h: ssh.argv(hv) for h, hv in inv.hostvars.items() if hv.get("ansible_host")}}

    def try_value(self, path: tuple, value: str, *, through_variable: bool = False) -> Outcome:
        """Set the value at path (directly, or as ${STAGECRAFT_HOSTILE} from the environment) and follow it."""
        from stagecraft.errors import StagecraftError

        key = _format_path(path)
        out = Outcome(path=path, value=value, command=any(re.fullmatch(p, key) for p in COMMAND_KEYS))
        in_compose = path[:1] == ("compose",)
        # Compose interpolates its own file ($$ is its literal $ too); Stagecraft leaves it to Compose.
        written = "${STAGECRAFT_HOSTILE}" if through_variable else value.replace("$", "$$")
        env_name = path[1] if path[:1] == ("environments",) else "prod"
        try:
            got = self.destinations(self._load(*self._with(path, written), env_name, {"STAGECRAFT_HOSTILE": value}),
                                    env_name)
        except StagecraftError as exc:
            out.refused, out.message = True, exc.message
            # A compose file problem names the service (its key path starts at services.<name>).
            out.named = (key.split(".", 1)[1].split(".")[1] if in_compose else key) in exc.message
            return out
        out.problems = inert_problems(got, self.baseline[env_name], out.command, value)
        return out


# ---- checks on each destination --------------------------------------------------------------------------

_CDumper = getattr(yaml, "CSafeDumper", yaml.SafeDumper)
_CLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _tagged(text: str):
    """The YAML node tree: each scalar keeps its tag (!unsafe or the plain str tag)."""
    return yaml.compose(text, Loader=_CLoader)


NAME = re.compile(r"[A-Za-z0-9_.-]+")


def inventory_problems(text: str) -> list[str]:
    """Every string value tagged !unsafe (or one YAML would read as a number, boolean, null or date),
    every mapping key a plain name."""
    from stagecraft.commands.ansible_data import could_template

    problems = []

    def walk(node, where):
        if isinstance(node, yaml.MappingNode):
            for k, v in node.value:
                if not NAME.fullmatch(k.value) or k.tag != "tag:yaml.org,2002:str":
                    problems.append(f"inventory: key {k.value!r} at {where}")
                walk(v, f"{where}.{k.value}")
        elif isinstance(node, yaml.SequenceNode):
            for i, v in enumerate(node.value):
                walk(v, f"{where}[{i}]")
        elif node.tag == "tag:yaml.org,2002:str" and could_template(node.value):
            problems.append(f"inventory: {where} = {node.value[:60]!r} is not marked unsafe")

    walk(_tagged(text), "")
    return problems


def _all_keys(node) -> list[str]:
    if isinstance(node, dict):
        return [str(k) for k in node] + [k for v in node.values() for k in _all_keys(v)]
    if isinstance(node, list):
        return [k for v in node for k in _all_keys(v)]
    return []


def compose_problems(got: dict, base: dict, value: str) -> list[str]:
    """Each host's compose file: the same services, and the value never became a key (it stays data; what a
    value means, e.g. an `expose` that is no port, may change what Stagecraft adds)."""
    out = []
    pieces = [p for p in value.splitlines() if len(p) > 3]
    for host, text in got.items():
        mine, theirs = (yaml.load(t, Loader=_CLoader) or {} for t in (text, base.get(host, "{}")))
        if set(mine.get("services") or {}) != set(theirs.get("services") or {}):
            out.append(f"compose file of {host}: other services")
        if any(p in k for k in _all_keys(mine) for p in pieces):
            out.append(f"compose file of {host}: the value became a key")
    return out


def json_shape(value):
    """A JSON document with every string and number reduced to its type: the structure a value may not change."""
    if isinstance(value, dict):
        return {k: json_shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [json_shape(v) for v in value]
    return type(value).__name__


def edge_shape(text: str):
    return json_shape(json.loads(text)) if text.strip() else None


def edge_problems(got: dict, base: dict) -> list[str]:
    return [f"edge routes of {h}: structure changed" for h, text in got.items()
            if edge_shape(text) != edge_shape(base.get(h, ""))]


def argv_problems(got: dict, base: dict) -> list[str]:
    """The same options in the same places: a value never becomes an option or a second argument."""
    out = []
    for host, argv in got.items():
        theirs = base.get(host)
        if theirs is None or len(argv) != len(theirs):
            out.append(f"ssh argv of {host}: {len(argv)} arguments instead of {len(theirs or [])}")
            continue
        for mine, their in zip(argv, theirs):
            if mine != their and (mine.startswith("-") or their.startswith("-")):
                out.append(f"ssh argv of {host}: {mine!r} in place of {their!r}")
    return out


def inert_problems(got: dict, base: dict, command: bool, value: str) -> list[str]:
    problems = inventory_problems(got["inventory"])
    problems += compose_problems(got["compose"], base["compose"], value)
    problems += edge_problems(got["edge"], base["edge"])
    if not command:  # ssh.extra_args are ssh options by design
        problems += argv_problems(got["argv"], base["argv"])
    return problems


def figures(outcomes: list[Outcome]) -> dict:
    return {"tried": len(outcomes),
            "refused": sum(o.refused for o in outcomes),
            "refused_without_key_path": sum(o.refused and not o.named for o in outcomes),
            "accepted_inert": sum(not o.refused and not o.problems for o in outcomes),
            "accepted_commands": sum(not o.refused and o.command for o in outcomes),
            "accepted_dangerous": sum(o.dangerous for o in outcomes)}
