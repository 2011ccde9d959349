"""Image builds: versions, tags and `docker build` argv (pure)."""

from __future__ import annotations

import hashlib
from pathlib import Path

# Caddy from Debian packages (ADR 0005), copied with only the libraries it links and the CA bundle into
# a scratch image: about 45 MB shipped once to every host instead of the whole Debian base (~260 MB).
# The edge needs no shell: Stagecraft writes its JSON configuration under /srv/stagecraft-edge (mounted
# at the same path) and loads it with `caddy reload`; certificates and keys live in its data/ (0600).
EDGE_DOCKERFILE = """\
FROM {base} AS caddy
RUN apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends caddy ca-certificates \\
 && rm -rf /var/lib/apt/lists/*
RUN set -e; mkdir -p /out/tmp /out/etc/ssl/certs /out/srv/stagecraft-edge; \\
    for f in /usr/bin/caddy $(ldd /usr/bin/caddy | awk '$2 == "=>" {{print $3}} $1 ~ /^\\// {{print $1}}'); do \\
      cp --parents -L "$f" /out; done; \\
    cp /etc/ssl/certs/ca-certificates.crt /out/etc/ssl/certs/; \\
    grep -E '^root:' /etc/passwd > /out/etc/passwd; grep -E '^root:' /etc/group > /out/etc/group; chmod 1777 /out/tmp

FROM scratch
COPY --from=caddy /out /
ENV HOME=/tmp XDG_DATA_HOME=/srv/stagecraft-edge/data XDG_CONFIG_HOME=/srv/stagecraft-edge/config
CMD ["/usr/bin/caddy", "run", "--config", "/srv/stagecraft-edge/caddy.json"]
"""


def edge_image_tag(base_image: str) -> str:
    key = hashlib.sha256((base_image + EDGE_DOCKERFILE).encode()).hexdigest()[:12]
    return f"stagecraft/edge:{key}"


def build_argv(ref: str, compose_dir: Path, compose_build, override=None) -> list[str]:
    """`docker build` for a compose `build:` (string or mapping), with stagecraft.yml's services.<s>.build
    (context, dockerfile, target, args) taking precedence."""
    spec = {"context": compose_build} if isinstance(compose_build, str) else dict(compose_build or {})
    if override is not None:
        for key in ("context", "dockerfile", "target"):
            if getattr(override, key):
                spec[key] = getattr(override, key)
        spec["args"] = {**(spec.get("args") or {}), **(override.args or {})}
    context = (compose_dir / spec.get("context", ".")).resolve()
    argv = ["docker", "build", "-t", ref]
    if spec.get("dockerfile"):
        argv += ["-f", str(context / spec["dockerfile"])]
    if spec.get("target"):
        argv += ["--target", spec["target"]]
    args = spec.get("args") or {}
    if isinstance(args, list):
        args = dict(a.split("=", 1) for a in args)
    for key in sorted(args):
        argv += ["--build-arg", f"{key}={args[key]}"]
    for name in sorted(getattr(override, "secrets", None) or ()):
        # BuildKit reads the value from docker build's environment: never in argv or the image history.
        argv += ["--secret", f"id={name},env={name}"]
    return argv + [str(context)]


def check_build_args(service: str, compose_build, override, secrets: dict) -> None:
    """A build arg that is a secret (by name, or by value: interpolated from one) would be visible in
    `ps` and in the image history; it must go through services.<s>.build.secrets instead."""
    from ..errors import UserError

    args = dict((compose_build or {}).get("args") or {}) if isinstance(compose_build, dict) else {}
    if isinstance(args, list):
        args = dict(a.split("=", 1) for a in args)
    args.update((override.args if override is not None else None) or {})
    for key, value in sorted(args.items()):
        name = key if key in secrets else next((n for n, v in sorted(secrets.items())
                                                if v and len(v) >= 4 and v in str(value)), None)
        if name:
            raise UserError(f"services.{service}.build.args.{key}: is the secret {name}; build args show in "
                            f"`ps` and in the image history",
                            hint=f"list {name} in services.{service}.build.secrets and read it in the Dockerfile "
                                 f"with RUN --mount=type=secret,id={name} (cat /run/secrets/{name})")


def encore_build_argv(ref: str, base_dir: Path, settings: dict) -> tuple[list[str], Path]:
    """(`encore build docker` argv, working directory) for backend.encore-ts.build: the app is compiled on
    this machine and packed into the image `ref` (see Encore's self-hosting docs)."""
    build = settings.get("build") or {}
    workdir = (base_dir / build.get("workdir", ".")).resolve()
    argv = ["encore", "build", "docker"]
    if build.get("base"):
        argv.append(f"--base={build['base']}")
    if build.get("config"):
        argv.append(f"--config={(base_dir / build['config']).resolve()}")
    if build.get("arch"):
        argv.append(f"--arch={build['arch']}")
    for key in ("services", "gateways"):
        if build.get(key):
            argv.append(f"--{key}={','.join(build[key])}")
    return argv + [ref], workdir
