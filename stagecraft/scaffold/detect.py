"""What `stagecraft attach` finds in an existing repository (reads files only; runs nothing).

- compose files: the one deploys read (Compose's own order: compose.yaml, compose.yml,
  docker-compose.yaml, docker-compose.yml) and others beside it (overrides, per-environment files);
- Dockerfiles (Dockerfile, Dockerfile.*, *.Dockerfile, Containerfile) with their EXPOSEd ports;
- apps by their manifests: Node (package.json), Python (pyproject.toml, requirements.txt, Pipfile),
  Go (go.mod), with the framework when a known dependency names it (its usual port and dev command).

From these it proposes, per compose service, a role and rollout strategy (stagecraft.commands.init_plan),
the port the edge routes to, and a healthcheck when the service has none. Without a compose file, the
Dockerfiles become a proposed docker-compose.yml.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ..commands.init_plan import ServicePlan, classify
from ..config.project import COMPOSE_FILE_NAMES

SKIP_DIRS = {".git", "node_modules", "vendor", ".venv", "venv", "__pycache__", "dist", "build", "target",
             ".stagecraft", ".next", ".tox", ".idea", ".vscode"}
MAX_DEPTH = 4
_DOCKERFILE = re.compile(r"^(Dockerfile(\..+)?|.+\.Dockerfile|Containerfile)$")
_COMPOSE_LIKE = re.compile(r"^(docker-)?compose([.-].+)?\.ya?ml$")

# dependency -> (framework, usual port, dev command); first match wins, so specific ones come first.
NODE = [("next", "next", 3000, ["npm", "run", "dev"]), ("nuxt", "nuxt", 3000, ["npm", "run", "dev"]),
        ("@angular/core", "angular", 4200, ["npm", "start"]), ("vite", "vite", 5173, ["npm", "run", "dev"]),
        ("react-scripts", "react", 3000, ["npm", "start"]), ("@nestjs/core", "nestjs", 3000, ["npm", "run", "start:dev"]),
        ("fastify", "fastify", 3000, ["npm", "run", "dev"]), ("express", "express", 3000, ["npm", "run", "dev"]),
        ("koa", "koa", 3000, ["npm", "run", "dev"])]
PYTHON = [("django", "django", 8000, ["python3", "manage.py", "runserver", "127.0.0.1:8000"]),
          ("fastapi", "fastapi", 8000, ["uvicorn", "main:app", "--reload", "--port", "8000"]),
          ("flask", "flask", 5000, ["flask", "run", "--port", "5000"]),
          ("starlette", "starlette", 8000, ["uvicorn", "main:app", "--reload", "--port", "8000"])]
GO = [("github.com/gin-gonic/gin", "gin", 8080), ("github.com/labstack/echo", "echo", 8080),
      ("github.com/gofiber/fiber", "fiber", 3000), ("github.com/go-chi/chi", "chi", 8080),
      ("github.com/gorilla/mux", "gorilla", 8080)]
FRONTEND_FRAMEWORKS = {"next", "nuxt", "angular", "vite", "react"}

# Healthchecks for well-known images (matched on the image name): what the official images ship.
HEALTHCHECKS = [
    (re.compile(r"postgres|postgis|timescale"), ["CMD-SHELL", "pg_isready -U \"$${POSTGRES_USER:-postgres}\""]),
    (re.compile(r"mariadb"), ["CMD-SHELL", "mariadb-admin ping -h 127.0.0.1 || mysqladmin ping -h 127.0.0.1"]),
    (re.compile(r"mysql"), ["CMD-SHELL", "mysqladmin ping -h 127.0.0.1"]),
    (re.compile(r"redis|valkey|keydb"), ["CMD", "redis-cli", "ping"]),
    (re.compile(r"mongo"), ["CMD", "mongosh", "--quiet", "--eval", "db.adminCommand('ping').ok"]),
    (re.compile(r"rabbitmq"), ["CMD", "rabbitmq-diagnostics", "-q", "ping"]),
    (re.compile(r"memcached"), None),
]


@dataclass(frozen=True)
class App:
    path: str  # directory, relative ("." for the root)
    kind: str  # node | python | go
    manifest: str
    framework: str | None = None
    port: int | None = None
    dev_command: tuple[str, ...] = ()

    @property
    def label(self) -> str:
        return f"{self.kind}" + (f", {self.framework}" if self.framework else "")

    @property
    def is_frontend(self) -> bool:
        return self.framework in FRONTEND_FRAMEWORKS


@dataclass(frozen=True)
class Proposal:
    plan: ServicePlan
    healthcheck: list | None = None  # proposed when the service has none
    app: App | None = None  # the source directory its build context holds

    @property
    def name(self) -> str:
        return self.plan.name

    def describe(self) -> dict:
        return {"name": self.name, "role": self.plan.role, "strategy": self.plan.strategy, "port": self.plan.port,
                "reason": self.plan.reason, "healthcheck": self.healthcheck,
                "app": f"{self.app.path} ({self.app.label})" if self.app else None}


@dataclass(frozen=True)
class Detected:
    compose_file: str | None  # what deploys read (also a proposed one, once written)
    other_compose_files: tuple[str, ...] = ()
    dockerfiles: dict = field(default_factory=dict)  # relative path -> EXPOSEd port or None
    apps: tuple[App, ...] = ()
    services: tuple[Proposal, ...] = ()
    proposed_compose: dict | None = None  # no compose file: one from the Dockerfiles
    compose_error: str | None = None

    def describe(self) -> dict:
        return {"compose_file": self.compose_file, "other_compose_files": list(self.other_compose_files),
                "compose_proposed": self.proposed_compose is not None, "compose_error": self.compose_error,
                "dockerfiles": sorted(self.dockerfiles),
                "apps": [{"path": a.path, "kind": a.kind, "manifest": a.manifest, "framework": a.framework,
                          "port": a.port, "dev_command": list(a.dev_command)} for a in self.apps],
                "services": [p.describe() for p in self.services]}


def _walk(root: Path):
    def visit(directory: Path, depth: int):
        try:
            entries = sorted(directory.iterdir())
        except OSError:
            return
        for entry in entries:
            if entry.is_symlink():
                continue
            if entry.is_dir():
                if depth < MAX_DEPTH and entry.name not in SKIP_DIRS:
                    yield from visit(entry, depth + 1)
            elif entry.is_file():
                yield entry

    yield from visit(root, 0)


def _read(path: Path, limit: int = 512 * 1024) -> str:
    try:
        return path.read_bytes()[:limit].decode("utf-8", errors="replace")
    except OSError:
        return ""


def exposed_port(dockerfile: Path) -> int | None:
    for line in _read(dockerfile).splitlines():
        found = re.match(r"^\s*EXPOSE\s+(\d+)", line, re.I)
        if found:
            return int(found.group(1))
    return None


def _node(path: Path, rel: str) -> App:
    try:
        data = json.loads(_read(path))
    except ValueError:
        data = {}
    data = data if isinstance(data, dict) else {}
    deps = {**(data.get("devDependencies") or {}), **(data.get("dependencies") or {})}
    scripts = data.get("scripts") or {}
    for dep, framework, port, command in NODE:
        if dep in deps:
            if command[-1] not in scripts and "dev" not in scripts and "start" in scripts:
                command = ["npm", "start"]
            return App(rel, "node", path.name, framework, port, tuple(command))
    command = ("npm", "run", "dev") if "dev" in scripts else (("npm", "start") if "start" in scripts else ())
    return App(rel, "node", path.name, None, None, command)


def _python(path: Path, rel: str) -> App:
    text = _read(path).lower()
    for dep, framework, port, command in PYTHON:
        if re.search(rf"(^|[\s\"'\[,]){re.escape(dep)}([\s\"'<>=~!\],;\[]|$)", text, re.M):
            return App(rel, "python", path.name, framework, port, tuple(command))
    return App(rel, "python", path.name)


def _go(path: Path, rel: str) -> App:
    text = _read(path)
    for dep, framework, port in GO:
        if dep in text:
            return App(rel, "go", path.name, framework, port, ("go", "run", "."))
    return App(rel, "go", path.name, None, None, ("go", "run", "."))


MANIFESTS = {"package.json": _node, "pyproject.toml": _python, "requirements.txt": _python, "Pipfile": _python,
             "go.mod": _go}


def detect(root: Path, project: str) -> Detected:
    from ..config import compose as compose_model

    root = root.resolve()
    dockerfiles, apps = {}, {}
    for path in _walk(root):
        rel_dir = path.parent.relative_to(root).as_posix()
        if _DOCKERFILE.match(path.name):
            dockerfiles[path.relative_to(root).as_posix()] = exposed_port(path)
        elif path.name in MANIFESTS and rel_dir not in apps:
            apps[rel_dir] = MANIFESTS[path.name](path, rel_dir)
    compose_file = next((n for n in COMPOSE_FILE_NAMES if (root / n).is_file()), None)
    others = tuple(sorted(p.name for p in root.iterdir() if p.is_file() and _COMPOSE_LIKE.match(p.name)
                          and p.name != compose_file))
    compose, error, proposed = None, None, None
    if compose_file:
        try:
            compose = compose_model.load(root / compose_file)
        except Exception as exc:  # noqa: BLE001 - a broken compose file is reported, not a crash
            error = str(getattr(exc, "message", exc)).splitlines()[0]
    elif dockerfiles:
        proposed = propose_compose(dockerfiles, apps, project)
        compose = proposed
    services = proposals(compose if isinstance(compose, dict) else None, dockerfiles, apps)
    return Detected(compose_file=compose_file or ("docker-compose.yml" if proposed else None),
                    other_compose_files=others, dockerfiles=dockerfiles,
                    apps=tuple(a for _, a in sorted(apps.items())), services=tuple(services),
                    proposed_compose=proposed, compose_error=error)


def _context_dir(spec: dict) -> str | None:
    build = spec.get("build")
    if isinstance(build, str):
        context = build
    elif isinstance(build, dict):
        context = build.get("context", ".")
    else:
        return None
    return Path(context).as_posix().removeprefix("./") or "."


def proposals(compose: dict | None, dockerfiles: dict, apps: dict) -> list[Proposal]:
    out = []
    for name, spec in sorted(((compose or {}).get("services") or {}).items()):
        spec = spec if isinstance(spec, dict) else {}
        plan = classify(name, spec)
        context = _context_dir(spec)
        app = apps.get(context) if context is not None else None
        if plan.port is None and plan.role == "app" and context is not None:
            port = next((p for f, p in sorted(dockerfiles.items()) if p and str(Path(f).parent.as_posix()) in
                         (context, "." if context == "." else context)), None) or (app.port if app else None)
            if port:
                plan = replace(plan, port=port, reason=f"{plan.reason}; routed to container port {port} "
                                                       "(EXPOSE or the framework's usual port)")
        health = None if spec.get("healthcheck") else healthcheck_for(name, spec, plan)
        out.append(Proposal(plan, health, app))
    return out


def healthcheck_for(name: str, spec: dict, plan: ServicePlan) -> list | None:
    haystack = f"{spec.get('image') or ''} {name}".lower()
    for pattern, test in HEALTHCHECKS:
        if pattern.search(haystack):
            return test
    if plan.port:
        url = f"http://127.0.0.1:{plan.port}/"
        return ["CMD-SHELL", f"wget -q -O /dev/null {url} || curl -fsS -o /dev/null {url}"]
    return None


def propose_compose(dockerfiles: dict, apps: dict, project: str) -> dict:
    """docker-compose.yml for a repository with Dockerfiles and no compose file: a service per Dockerfile."""
    services = {}
    for path, port in sorted(dockerfiles.items()):
        directory = Path(path).parent.as_posix()
        base = project if directory == "." else re.sub(r"[^a-z0-9_-]+", "-", Path(directory).name.lower()).strip("-")
        name = base or "app"
        while name in services:
            name += "-2"
        build: dict | str = f"./{directory}" if directory != "." else "."
        if Path(path).name != "Dockerfile":
            build = {"context": build, "dockerfile": Path(path).name}
        spec: dict = {"build": build}
        app = apps.get(directory)
        port = port or (app.port if app else None)
        if port:
            spec["expose"] = [str(port)]
            url = f"http://127.0.0.1:{port}/"
            spec["healthcheck"] = {"test": ["CMD-SHELL", f"wget -q -O /dev/null {url} || curl -fsS -o /dev/null {url}"],
                                   "interval": "10s", "timeout": "3s", "retries": 3, "start_period": "10s"}
        services[name] = spec
    return {"services": services}
