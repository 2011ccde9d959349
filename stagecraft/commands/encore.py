"""argv of the `encore` CLI besides builds (commands.build.encore_build_argv): setting a secret.
The value always goes to the process's stdin, never into argv (other users can read a process's argv)."""

from __future__ import annotations


def secret_set_argv(name: str, types) -> list[str]:
    """`encore secret set --type local,dev NAME` (the value on stdin)."""
    return ["encore", "secret", "set", "--type", ",".join(types), name]
