r"""The hosts' .env (pure): written so that each container sees exactly the bytes of the secret.

Docker Compose (2.26 on the hosts) reads .env with its own dotenv parser, and the compose file takes the
values by ${NAME} interpolation. Unquoted values lose a ` #comment`, let a newline start a new variable
and interpolate `$`; single quotes cannot hold a `'`. Double quotes with `\\`, `\"`, `\n` and `\$`
escaped carry any text (checked against `docker compose config` and a running container).
"""

from __future__ import annotations

from ..errors import UserError


def quote(name: str, value: str) -> str:
    if "\x00" in value:
        raise UserError(f"secret {name}: contains a NUL byte, which no environment variable can hold")
    escaped = value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n").replace("$", "\\$")
    return f'"{escaped}"'


def render(names: list[str], values: dict) -> str:
    """The .env text: one NAME="value" line per name ('' when unset), in the given order."""
    return "".join(f"{n}={quote(n, values.get(n) or '')}\n" for n in names)


def served_name(host: str) -> str:
    """The name under which a host's .env text is handed to the compose role (runner.secrets)."""
    return f"env_file/{host}"


def line_digests(names: list[str], values: dict) -> dict[str, str]:
    """name -> sha256 of its .env line as render() writes it: compared with the digests a host computes of
    its own lines (commands.remote.env_digests_script), so no value leaves either side."""
    import hashlib

    return {n: hashlib.sha256(f"{n}={quote(n, values.get(n) or '')}".encode()).hexdigest() for n in names}
