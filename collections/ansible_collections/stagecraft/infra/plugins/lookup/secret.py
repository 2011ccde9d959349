# -*- coding: utf-8 -*-
"""Lookup plugin: a secret value handed over by Stagecraft for this run (never in a file or the environment)."""

from __future__ import annotations

DOCUMENTATION = r"""
name: secret
short_description: A secret value Stagecraft hands to this playbook run
description:
  - Reads the values from the Unix socket named in C(STAGECRAFT_SECRETS_SOCKET), which the Stagecraft
    process serves from memory for the duration of the run, so secrets are never written to the
    ansible-runner private data dir or to the playbook's environment.
  - Without that variable (the roles run outside Stagecraft, e.g. molecule), the value comes from the
    controller's environment like C(ansible.builtin.env).
options:
  _terms:
    description: Variable names.
    required: true
"""

EXAMPLES = r"""
- ansible.builtin.debug:
    msg: "{{ lookup('stagecraft.infra.secret', 'DB_PASSWORD') | length }}"
"""

RETURN = r"""
_raw:
  description: The values, empty for names Stagecraft did not hand over.
  type: list
  elements: str
"""

import json
import os
import socket

from ansible.errors import AnsibleError
from ansible.plugins.lookup import LookupBase

SOCKET_VAR = "STAGECRAFT_SECRETS_SOCKET"


def _served(path):
    chunks = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
        conn.settimeout(30)
        conn.connect(path)
        while True:
            chunk = conn.recv(65536)
            if not chunk:
                break
            chunks.append(chunk)
    return json.loads(b"".join(chunks).decode())


class LookupModule(LookupBase):
    def run(self, terms, variables=None, **kwargs):
        path = os.environ.get(SOCKET_VAR)
        if not path:
            return [os.environ.get(term, "") for term in terms]
        try:
            values = _served(path)
        except (OSError, ValueError) as exc:
            raise AnsibleError(f"stagecraft.infra.secret: cannot read the secrets Stagecraft serves: {exc}")
        return [values.get(term, "") for term in terms]
