"""roles and services: which compose services run on which hosts, and how each rolls out."""

from __future__ import annotations

from dataclasses import dataclass, field

# Rollout order when a role gives none: data first, then apps, then the edge.
DEFAULT_ROLE_ORDER = {"db": 10, "data": 10, "cache": 20, "app": 50, "worker": 60, "gateway": 90, "edge": 90}


@dataclass(frozen=True)
class Role:
    name: str
    services: tuple[str, ...] = ()
    public: bool = False
    order: int = 50

    @classmethod
    def parse(cls, name: str, data: dict) -> "Role":
        return cls(
            name=name,
            services=tuple(data.get("services") or ()),
            public=bool(data.get("public", False)),
            order=data.get("order", DEFAULT_ROLE_ORDER.get(name, 50)),
        )


@dataclass(frozen=True)
class Build:
    context: str | None = None
    dockerfile: str | None = None
    target: str | None = None
    args: dict = field(default_factory=dict)
    secrets: tuple = ()  # env var names handed to docker build as BuildKit secrets


@dataclass(frozen=True)
class Rollout:
    """services.<s>.rollout: how a service's containers are replaced. The one source of these
    defaults: the schema, the compose role's argument spec and the compose_rollout module agree with
    it (tests/unit/test_rollout_contract.py)."""

    strategy: str = "rolling"  # rolling: new beside old, switch when healthy; recreate: compose up -d
    healthcheck_timeout: int = 60  # seconds new containers have to become healthy
    # Seconds old containers keep serving after the edge moved to the new ones, so requests already
    # sent to them finish (nginx hands over on reload, not instantly): at least 1.
    drain_seconds: int = 1
    pre_stop: tuple[str, ...] = ()  # argv run in each old container after the drain, before the stop
    pre_stop_timeout: int = 30
    # Seconds `docker stop` waits before it kills a container, when the compose file gives no
    # stop_grace_period (Docker's own default).
    stop_timeout: int = 10

    @classmethod
    def parse(cls, data: dict) -> "Rollout":
        fields = {k: v for k, v in (data or {}).items() if k in cls.__dataclass_fields__}
        if "pre_stop" in fields:
            fields["pre_stop"] = tuple(fields["pre_stop"] or ())
        return cls(**fields)

    def module_vars(self) -> dict:
        """The compose_rollout module's per-service options (pre_stop only when there is one)."""
        out = {"strategy": self.strategy, "healthcheck_timeout": self.healthcheck_timeout,
               "drain_seconds": self.drain_seconds, "stop_timeout": self.stop_timeout}
        if self.pre_stop:
            out.update({"pre_stop": list(self.pre_stop), "pre_stop_timeout": self.pre_stop_timeout})
        return out


@dataclass(frozen=True)
class HttpHealthcheck:
    """services.<s>.healthcheck: an HTTP GET the rollout sends from the host to every new container
    (at services.<s>.port) before the edge proxy routes to it, for services whose image and compose
    file have no Docker healthcheck. The one source of these defaults (tests/unit/test_rollout_contract.py)."""

    path: str = "/"
    status: int = 200  # the answer's expected status code
    interval: int = 1  # seconds between two requests to a container that has not answered as expected yet
    timeout: int = 5  # seconds one request may take

    @classmethod
    def parse(cls, data: dict | None) -> "HttpHealthcheck | None":
        if data is None:
            return None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})

    def module_vars(self) -> dict:
        return {"path": self.path, "status": self.status, "interval": self.interval, "timeout": self.timeout}


@dataclass(frozen=True)
class Service:
    name: str
    role: str | None = None
    rollout: Rollout = field(default_factory=Rollout)
    port: int | None = None
    public_hosts: tuple[str, ...] = ()  # names routed to this service (public.host: one or a list)
    public_path: str = "/"
    # public.tls: acme (certificates from edge.acme, the default when names are given), off (plain HTTP),
    # or {cert_file, key_file} (files relative to stagecraft.yml, e.g. from an internal CA).
    public_tls: object = "acme"
    redirect_http: bool = True  # public.redirect_http: plain HTTP answers with a redirect to HTTPS
    hsts: int = 0  # public.hsts: Strict-Transport-Security max-age in seconds (true: one year); 0: none
    build: Build | None = None
    secrets: tuple[str, ...] = ()
    healthcheck: HttpHealthcheck | None = None

    @property
    def strategy(self) -> str:
        return self.rollout.strategy

    @property
    def public_host(self) -> str | None:
        """The first routed name (None: every name reaching the host)."""
        return self.public_hosts[0] if self.public_hosts else None

    @property
    def tls_mode(self) -> str:
        """acme, files or off: TLS needs names to ask certificates for."""
        if not self.public_hosts or self.public_tls == "off":
            return "off"
        return "files" if isinstance(self.public_tls, dict) else "acme"

    @classmethod
    def parse(cls, name: str, data: dict) -> "Service":
        public = data.get("public") or {}
        build = data.get("build")
        hosts = public.get("host") or ()
        hsts = public.get("hsts", 0)
        return cls(
            name=name,
            role=data.get("role"),
            rollout=Rollout.parse(data.get("rollout") or {}),
            port=data.get("port"),
            public_hosts=(hosts,) if isinstance(hosts, str) else tuple(hosts),
            public_path=public.get("path", "/"),
            public_tls=public.get("tls", "acme"),
            redirect_http=public.get("redirect_http", True),
            hsts=31536000 if hsts is True else int(hsts or 0),
            build=Build(**{k: v for k, v in build.items() if not k.startswith("x-")}) if build else None,
            secrets=tuple(data.get("secrets") or ()),
            healthcheck=HttpHealthcheck.parse(data.get("healthcheck")),
        )


def placement(roles: dict[str, Role], services: dict[str, Service]) -> dict[str, str]:
    """service name -> role name. services.<s>.role wins over roles.<r>.services."""
    out: dict[str, str] = {}
    for role in roles.values():
        for svc in role.services:
            out.setdefault(svc, role.name)
    for svc in services.values():
        if svc.role:
            out[svc.name] = svc.role
    return dict(sorted(out.items()))
