"""Secret values for one ansible-playbook run, served from this process's memory over a Unix socket.

ansible-runner records the playbook's whole environment in artifacts/<run>/command (a SIGKILL leaves it
there), so secrets must not travel in the environment, nor in any file under the private data dir. The
roles read them with `lookup('stagecraft.infra.secret', NAME)`; the lookup connects to the socket named
in STAGECRAFT_SECRETS_SOCKET (a 0700 directory of its own) and receives the values as JSON. Nothing but
an empty socket node is ever on disk, and it is removed when the run ends.

    with serve(values) as socket_env:
        run ansible-playbook with socket_env in its environment
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import struct
import tempfile
import threading

SOCKET_VAR = "STAGECRAFT_SECRETS_SOCKET"


@contextlib.contextmanager
def serve(values: dict):
    """Yields {SOCKET_VAR: path} while a thread answers every connection with `values` as JSON."""
    payload = json.dumps({k: str(v) for k, v in values.items()}).encode()
    # A short path of its own (Unix socket paths are limited to ~100 bytes), private to this user.
    directory = tempfile.mkdtemp(prefix="stagecraft-")
    path = os.path.join(directory, "secrets.sock")
    server = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    server.bind(path)
    server.listen(16)
    stop = threading.Event()

    def answer():
        while not stop.is_set():
            try:
                conn, _ = server.accept()
            except OSError:
                return
            with conn:
                _, uid, _ = struct.unpack("3i", conn.getsockopt(socket.SOL_SOCKET, socket.SO_PEERCRED, 12))
                if uid != os.getuid():
                    continue  # only processes of this user (the directory is 0700 as well)
                with contextlib.suppress(OSError):
                    conn.sendall(payload)

    thread = threading.Thread(target=answer, name="stagecraft-secrets", daemon=True)
    thread.start()
    try:
        yield {SOCKET_VAR: path}
    finally:
        stop.set()
        with contextlib.suppress(OSError):
            server.shutdown(socket.SHUT_RDWR)
        server.close()
        shutil.rmtree(directory, ignore_errors=True)


def seal(node, secrets: list[str]) -> tuple[object, dict]:
    """(node with every string that holds a secret value replaced by a lookup of that whole string, the
    values to serve): the inventory file Ansible reads then holds no secret, and Ansible reads the value back
    when a role uses the var. The lookup is the only template in the file (a `Template`; everything else is
    marked unsafe), and what it returns is never templated, so the rest of the string stays inert data."""
    from ..commands.ansible_data import Template

    served: dict = {}
    names: dict = {}

    def walk(x):
        if isinstance(x, str) and any(value in x for value in secrets):
            name = names.setdefault(x, f"config/{len(names)}")
            served[name] = x
            return Template("{{ lookup('stagecraft.infra.secret', '%s') }}" % name)
        if isinstance(x, dict):
            return {k: walk(v) for k, v in x.items()}
        if isinstance(x, list):
            return [walk(v) for v in x]
        return x

    return walk(node), served
