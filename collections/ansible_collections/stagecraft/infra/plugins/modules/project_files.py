#!/usr/bin/python
# Copyright: Stagecraft developers
# Apache-2.0
"""Directories and small text files of a project, written in one module run."""

from __future__ import annotations

DOCUMENTATION = r"""
module: project_files
short_description: Write a project's directories and files in one module run
description:
  - Creates the directories, then writes each file whose content or mode differs (atomically,
    through a temporary file in the same directory). Files already right are not touched.
  - One run instead of one M(ansible.builtin.file) or M(ansible.builtin.copy) per path: each of those
    starts Python on the host again, which is most of a deploy's cost on a small host.
  - File contents are never returned. Put C(no_log) on the task when a content holds a secret.
options:
  directories:
    description: Directories to create (parents first), with I(directory_mode).
    type: list
    elements: path
    default: []
  directory_mode:
    description: Mode of the directories.
    type: str
    default: "0750"
  files:
    description: Files to write.
    type: list
    elements: dict
    default: []
    suboptions:
      path: {description: Destination., type: path, required: true}
      content: {description: Text to write., type: str, required: true}
      mode: {description: File mode., type: str, default: "0644"}
      create_only:
        description: Write the file only when it does not exist yet (its content is then managed elsewhere).
        type: bool
        default: false
  owner:
    description: Owner of every directory and file.
    type: str
    default: root
  group:
    description: Group of every directory and file.
    type: str
    default: root
author: Stagecraft developers
"""

EXAMPLES = r"""
- name: Write the compose file and the edge configuration
  stagecraft.infra.project_files:
    directories: [/srv/stagecraft/shop, /srv/stagecraft/shop/edge]
    files:
      - {path: /srv/stagecraft/shop/compose.yaml, content: "{{ compose_text }}", mode: "0640"}
      - {path: /srv/stagecraft/shop/edge/nginx.conf, content: "{{ nginx_text }}"}
  register: written
"""

RETURN = r"""
changed_files:
  description: Paths of the files (and directories) created or changed (or that would be, in check mode).
  returned: always
  type: list
  elements: str
"""

import os
import tempfile

from ansible.module_utils.basic import AnsibleModule


def ensure_attributes(module, path, mode, params, changed):
    changed = module.set_mode_if_different(path, mode, changed)
    changed = module.set_owner_if_different(path, params["owner"], changed)
    return module.set_group_if_different(path, params["group"], changed)


def ensure_directory(module, path, params):
    changed = False
    if not os.path.isdir(path):
        if os.path.exists(path):
            module.fail_json(msg=f"{path} exists and is not a directory")
        if module.check_mode:
            return True
        os.makedirs(path)
        changed = True
    return ensure_attributes(module, path, params["directory_mode"], params, changed)


def write_file(module, spec, params):
    path, content = spec["path"], spec["content"].encode()
    exists = os.path.exists(path)
    if exists and os.path.isdir(path):
        module.fail_json(msg=f"{path} is a directory")
    if exists and spec["create_only"]:
        return False
    if exists:
        with open(path, "rb") as handle:
            same = handle.read() == content
        if same:
            return ensure_attributes(module, path, spec["mode"], params, False)
    if module.check_mode:
        return True
    directory = os.path.dirname(path)
    fd, tmp = tempfile.mkstemp(dir=directory, prefix=".stagecraft-")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(content)
        # Mode and owner are set before the rename, so the file never appears with looser permissions.
        ensure_attributes(module, tmp, spec["mode"], params, True)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
    return True


def main():
    module = AnsibleModule(
        argument_spec=dict(
            directories=dict(type="list", elements="path", default=[]),
            directory_mode=dict(type="str", default="0750"),
            files=dict(type="list", elements="dict", default=[], options=dict(
                path=dict(type="path", required=True),
                content=dict(type="str", required=True),
                mode=dict(type="str", default="0644"),
                create_only=dict(type="bool", default=False),
            )),
            owner=dict(type="str", default="root"),
            group=dict(type="str", default="root"),
        ),
        supports_check_mode=True,
    )
    params = module.params
    changed = [d for d in params["directories"] if ensure_directory(module, d, params)]
    for spec in params["files"]:
        if module.check_mode and not os.path.isdir(os.path.dirname(spec["path"])):
            changed.append(spec["path"])  # its directory would be created first
        elif write_file(module, spec, params):
            changed.append(spec["path"])
    module.exit_json(changed=bool(changed), changed_files=changed)


if __name__ == "__main__":
    main()
