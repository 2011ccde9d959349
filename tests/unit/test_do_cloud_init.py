"""cloud-init user data for droplets: the user's file (its contents, typed) plus a generated host key pair."""

from __future__ import annotations

import email
import os
import stat

import pytest
import yaml

from stagecraft.errors import UserError
from stagecraft.providers.digitalocean import cloud_init


def _parts(text: str) -> list[tuple[str, str]]:
    return [(p.get_content_type(), p.get_payload(decode=True).decode())
            for p in email.message_from_string(text).walk() if not p.is_multipart()]


@pytest.mark.parametrize("first, subtype", [("#cloud-config", "text/cloud-config"), ("#!/bin/sh", "text/x-shellscript"),
                                            ("#cloud-boothook", "text/cloud-boothook")])
def test_user_file_keeps_its_type_and_host_keys_come_last(tmp_path, first, subtype):
    (tmp_path / "init").write_text(f"{first}\necho hi-ünïcode\n")
    user = cloud_init.read_user_file(tmp_path, "init")
    private, public = cloud_init.host_key_pair("test")
    parts = _parts(cloud_init.user_data(user, private, public))
    assert parts[0] == (subtype, f"{first}\necho hi-ünïcode\n")
    kind, body = parts[1]
    assert kind == "text/cloud-config" and body.startswith("#cloud-config\n")
    keys = yaml.safe_load(body)
    assert keys["ssh_keys"] == {"ed25519_private": private, "ed25519_public": public}
    assert keys["ssh_deletekeys"] is True and keys["ssh_genkeytypes"] == []
    assert public.startswith("ssh-ed25519 ") and "OPENSSH PRIVATE KEY" in private


def test_host_key_file_is_gone_after_use(tmp_path, monkeypatch):
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    seen = []
    real_run = cloud_init.subprocess.run

    def run(argv, **kw):
        out = real_run(argv, **kw)
        key = argv[argv.index("-f") + 1]
        seen.append((stat.S_IMODE(os.stat(key).st_mode), stat.S_IMODE(os.stat(os.path.dirname(key)).st_mode)))
        return out
    monkeypatch.setattr(cloud_init.subprocess, "run", run)
    cloud_init.host_key_pair("x")
    assert seen == [(0o600, 0o700)]
    assert list(tmp_path.iterdir()) == []


def test_bad_user_files(tmp_path):
    with pytest.raises(UserError, match="cloud.digitalocean.user_data: file missing.yml does not exist"):
        cloud_init.read_user_file(tmp_path, "missing.yml")
    (tmp_path / "plain").write_text("hello\n")
    with pytest.raises(UserError, match="not a cloud-init file"):
        cloud_init.read_user_file(tmp_path, "plain")
    (tmp_path / "bin").write_bytes(b"\x1f\x8b\x08\x00")
    with pytest.raises(UserError, match="not UTF-8"):
        cloud_init.read_user_file(tmp_path, "bin")
    (tmp_path / "big").write_text("#!/bin/sh\n" + "x" * 65_000)  # fits alone, not with the host keys
    user = cloud_init.read_user_file(tmp_path, "big")
    with pytest.raises(UserError, match="64 KiB"):
        cloud_init.user_data(user, *cloud_init.host_key_pair("x"))
    assert cloud_init.read_user_file(tmp_path, None) is None
