"""What a compose service refers to, and what that means once services are spread over hosts.

Compose resolves a service name on the project network of one Docker engine. Across hosts:
- `depends_on` becomes an ordering fact (roles roll in order), `links` a name to resolve;
- a `recreate` service that declares its ports (`expose:` or the container side of `ports:`) and
  runs on exactly one host of an environment is *reachable*: its host publishes those ports, the
  firewall opens them to the environment's hosts only, and every other host's services resolve
  its name to that host (`extra_hosts`);
- `volumes_from`, `network_mode`, `pid` and `ipc` naming another service need one engine: those
  services must share a host.
"""

from __future__ import annotations

import copy
import posixpath
import re
from pathlib import Path

import yaml

SPANNING = ("depends_on", "links")
LOCAL_ONLY = ("volumes_from", "network_mode", "pid", "ipc")


def _names(value) -> list[str]:
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list):
        return [str(v) for v in value if isinstance(v, (str, int))]
    return []


def references(spec: dict) -> list[tuple[str, str]]:
    """(kind, service) pairs a compose service definition names."""
    spec = spec if isinstance(spec, dict) else {}
    out = [("depends_on", n) for n in _names(spec.get("depends_on"))]
    out += [("links", n.split(":", 1)[0]) for n in _names(spec.get("links"))]
    for entry in _names(spec.get("volumes_from")):
        if not entry.startswith("container:"):
            out.append(("volumes_from", entry.split(":", 1)[0]))
    for key in ("network_mode", "pid", "ipc"):
        value = spec.get(key)
        if isinstance(value, str) and value.startswith("service:"):
            out.append((key, value.split(":", 1)[1]))
    return out


_PORT = re.compile(r"\A(?P<port>\d+)(?:-(?P<end>\d+))?(?:/(?P<proto>tcp|udp|sctp))?\Z")


def _container_port(entry) -> str | None:
    """The container side of a `ports:` entry ('8080', '127.0.0.1:80:8080/udp', {target: 80})."""
    if isinstance(entry, dict):
        target, proto = entry.get("target"), entry.get("protocol") or "tcp"
        return f"{target}/{proto}" if target is not None else None
    if isinstance(entry, int):
        return str(entry)
    if not isinstance(entry, str):
        return None
    text, _, proto = entry.partition("/")
    container = text.rsplit(":", 1)[-1]
    return f"{container}/{proto}" if proto else container


def declared_ports(spec: dict) -> list[tuple[str, str]]:
    """(port or 'a-b', proto) a service declares with `expose:` and the container side of `ports:`."""
    spec = spec if isinstance(spec, dict) else {}
    out = set()
    entries = [str(e) for e in (spec.get("expose") or []) if isinstance(e, (str, int))]
    entries += [p for p in (_container_port(e) for e in (spec.get("ports") or [])) if p]
    for entry in entries:
        m = _PORT.match(entry.strip())
        if m:
            port = m["port"] + (f"-{m['end']}" if m["end"] else "")
            out.add((port, m["proto"] or "tcp"))
    return sorted(out)


def host_services(env, placement: dict[str, str]) -> dict[str, list[str]]:
    """host name -> the services placed on its roles, for one environment."""
    return {h.name: sorted(s for s, r in placement.items() if r in h.roles) for h in env.hosts}


def reachable(env, placement: dict[str, str], strategies: dict[str, str], compose: dict) -> dict[str, str]:
    """service -> the one host that runs it, for services other hosts reach by name (see module doc)."""
    services = compose.get("services") if isinstance(compose, dict) else None
    if not isinstance(services, dict):
        return {}
    by_host = host_services(env, placement)
    if sum(1 for names in by_host.values() if names) < 2:
        return {}  # one host: Compose's own network already resolves every name
    where: dict[str, list[str]] = {}
    for host, names in by_host.items():
        for name in names:
            where.setdefault(name, []).append(host)
    out = {}
    for name, hosts in where.items():
        if len(hosts) == 1 and strategies.get(name, "rolling") == "recreate" and declared_ports(services.get(name)):
            out[name] = hosts[0]
    return out


def split_problems(env, placement: dict[str, str], compose: dict) -> list[tuple[str, str]]:
    """(service, message) for references that cannot span hosts but would in this environment."""
    services = compose.get("services") if isinstance(compose, dict) else None
    if not isinstance(services, dict):
        return []
    by_host = host_services(env, placement)
    out = []
    for name, spec in sorted(services.items()):
        for kind, target in references(spec):
            if kind not in LOCAL_ONLY or target not in services:
                continue
            apart = sorted(h for h, names in by_host.items() if name in names and target not in names)
            if apart:
                out.append((name, f"{kind} names service '{target}', but in environment '{env.name}' host "
                                  f"{apart[0]} runs '{name}' without '{target}'; {kind} needs both on one "
                                  f"Docker engine: place them on the same role"))
    return out


# --- Reading a compose file as Compose does: its tags, `include:` and `extends:` -------------------


from .yamlpos import _Loader as _BaseLoader  # noqa: E402


class _Loader(_BaseLoader):
    """Compose's own tags: `!reset` (back to the default: the key is dropped) and `!override` (the value
    replaces, not merges). In one file nothing merges, so `!override` is the value itself."""


class _Reset:
    pass


def _reset(loader, node):
    return _Reset()


def _override(loader, node):
    if isinstance(node, yaml.MappingNode):
        return loader.construct_mapping(node, deep=True)
    if isinstance(node, yaml.SequenceNode):
        return loader.construct_sequence(node, deep=True)
    return loader.construct_scalar(node)


_Loader.add_constructor("!reset", _reset)
_Loader.add_constructor("!override", _override)


def _drop_resets(node):
    if isinstance(node, dict):
        return {k: _drop_resets(v) for k, v in node.items() if not isinstance(v, _Reset)}
    if isinstance(node, list):
        return [_drop_resets(v) for v in node if not isinstance(v, _Reset)]
    return node


def parse(text: str, file: str = "docker-compose.yml"):
    """Compose YAML (anchors, merge keys, `!reset`, `!override`) as plain data, with the same limits
    and key checks as stagecraft.yml (yamlpos); raises yamlpos.YamlSyntaxError."""
    from .yamlpos import load_yaml

    return _drop_resets(load_yaml(text, file, _Loader).data)


def _rebase(spec: dict, prefix: str) -> dict:
    """Relative paths of an included or extended service, made relative to the main file's folder."""
    if not prefix or prefix == ".":
        return spec

    def move(p):
        if not isinstance(p, str) or p.startswith(("/", "~", "$")) or "://" in p:
            return p
        moved = posixpath.normpath(f"{prefix}/{p}")
        # Compose reads a short-syntax volume source without ./ or ../ as a named volume.
        return moved if moved.startswith(("../", "/")) or moved == ".." else f"./{moved}"

    spec = copy.deepcopy(spec)
    build = spec.get("build")
    if isinstance(build, str):
        spec["build"] = move(build)
    elif isinstance(build, dict) and "context" in build:
        build["context"] = move(build["context"])
    if isinstance(spec.get("env_file"), (str, list)):
        files = spec["env_file"] if isinstance(spec["env_file"], list) else [spec["env_file"]]
        spec["env_file"] = [move(f) if isinstance(f, str) else {**f, "path": move(f.get("path"))} for f in files]
    volumes = []
    for v in spec.get("volumes") or []:
        if isinstance(v, str) and v.startswith("."):
            v = move(v)
        elif isinstance(v, dict) and v.get("type") == "bind":
            v = {**v, "source": move(v.get("source"))}
        volumes.append(v)
    if volumes:
        spec["volumes"] = volumes
    return spec


_NOT_INHERITED = ("depends_on", "links", "volumes_from")


def _merge(base, override):
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            out[k] = _merge(base[k], v) if k in base else v
        return out
    if isinstance(base, list) and isinstance(override, list):
        return base + [v for v in override if v not in base]
    return override


def _extend(name: str, services: dict, folder: Path, prefix: str, seen: tuple = ()) -> dict:
    from ..errors import UserError

    spec = services.get(name)
    if not isinstance(spec, dict) or "extends" not in spec:
        return spec
    if name in seen:
        raise UserError(f"compose service '{name}': extends loops ({' -> '.join(seen + (name,))})")
    ext = spec["extends"]
    ext = {"service": ext} if isinstance(ext, str) else ext or {}
    if ext.get("file"):
        other_path = folder / ext["file"]
        other = load(other_path).get("services") or {}
        rel = str(Path(prefix, ext["file"]).parent) if prefix else str(Path(ext["file"]).parent)
        base = _extend(ext["service"], other, other_path.parent, "", seen + (name,))
        base = _rebase(base, rel) if isinstance(base, dict) else base
    else:
        base = _extend(ext["service"], services, folder, prefix, seen + (name,))
    if not isinstance(base, dict):
        raise UserError(f"compose service '{name}': extends names service '{ext.get('service')}', which "
                        f"{'file ' + ext['file'] if ext.get('file') else 'this file'} does not define")
    base = {k: v for k, v in base.items() if k not in _NOT_INHERITED}
    return _merge(base, {k: v for k, v in spec.items() if k != "extends"})


TOP_LEVEL = ("services", "volumes", "networks", "secrets", "configs")
MAX_COMPOSE_BYTES = 1 << 20


def load(path: Path, _depth: int = 0) -> dict:
    """A compose file as Compose reads it: tags, `include:` (the included files' services, volumes,
    networks, secrets and configs join this project, their relative paths rebased) and `extends:`
    resolved. Raises UserError naming the file."""
    from ..errors import ConfigError, UserError
    from . import schema
    from .compose_schema import SCHEMA
    from .issues import refused_issue, yaml_issues

    path = Path(path)
    if _depth > 8:
        raise UserError(f"{path}: include nests deeper than 8 files")
    from ..files import FileRefused, exists, read_text

    if not exists(path, "compose file"):
        raise UserError(f"{path}: compose file not found")
    from .yamlpos import YamlSyntaxError, load_yaml

    try:
        doc = load_yaml(read_text(path, "compose file", limit=MAX_COMPOSE_BYTES), str(path), _Loader)
    except FileRefused as exc:
        raise ConfigError([refused_issue(exc)], path=str(path)) from None
    except YamlSyntaxError as exc:
        raise ConfigError(yaml_issues(exc), path=str(path)) from None
    doc.data = {} if doc.data is None else _drop_resets(doc.data)
    issues = schema.validate(doc, SCHEMA)  # the shapes of the keys Stagecraft reads
    if issues:
        raise ConfigError(issues, path=str(path))
    data = doc.data
    for entry in data.pop("include", None) or []:
        paths = entry if isinstance(entry, str) else (entry or {}).get("path")
        for rel in paths if isinstance(paths, list) else [paths]:
            if not isinstance(rel, str):
                raise UserError(f"{path}: include: each entry needs a path")
            included = load(path.parent / rel, _depth + 1)
            prefix = str(Path(rel).parent)
            for section in TOP_LEVEL:
                items = included.get(section) or {}
                if section == "services":
                    items = {k: _rebase(v, prefix) if isinstance(v, dict) else v for k, v in items.items()}
                clash = set(items) & set(data.get(section) or {})
                if clash:
                    raise UserError(f"{path}: include {rel} defines {section} {', '.join(sorted(clash))} again")
                if items:
                    data[section] = {**(data.get(section) or {}), **items}
    services = data.get("services")
    if isinstance(services, dict):
        data["services"] = {name: _extend(name, services, path.parent, "") for name in services}
    return data


# --- Files a service needs on its host -------------------------------------------------------------

def referenced_files(spec: dict, compose: dict) -> list[tuple[str, str, bool]]:
    """(relative path, kind, required) of the local files a service refers to: env files, bind-mount
    sources given as relative paths, and the `file:` of the top-level secrets and configs it uses."""
    spec = spec if isinstance(spec, dict) else {}
    out = []
    env_files = spec.get("env_file")
    for entry in env_files if isinstance(env_files, list) else [env_files] if env_files else []:
        if isinstance(entry, str):
            out.append((entry, "env_file", True))
        elif isinstance(entry, dict) and isinstance(entry.get("path"), str):
            out.append((entry["path"], "env_file", entry.get("required", True) is not False))
    for v in spec.get("volumes") or []:
        if isinstance(v, str) and v.startswith(".") and ":" in v:
            out.append((v.split(":", 1)[0], "bind", False))
        elif isinstance(v, dict) and v.get("type") == "bind" and str(v.get("source", "")).startswith("."):
            out.append((v["source"], "bind", False))
    for section in ("secrets", "configs"):
        defined = compose.get(section) if isinstance(compose.get(section), dict) else {}
        for entry in spec.get(section) or []:
            name = entry if isinstance(entry, str) else (entry or {}).get("source")
            source = defined.get(name) if isinstance(defined.get(name), dict) else {}
            if isinstance(source.get("file"), str) and not source["file"].startswith("/"):
                out.append((source["file"], section, True))
    return out
