"""What a droplet gets as cloud-init user data: its own SSH host key pair, plus the user's file.

The host key pair is generated here so the very first SSH connection is verified against a key we
already know (no trust on first use). The private half only exists in memory, in the create request
and, for the moment ssh-keygen needs it, as a 0600 file in a 0700 temporary directory removed at once.

The user's `cloud.digitalocean.user_data` file and the host keys travel as one MIME multipart message,
which cloud-init reads part by part: the user's part keeps its own format (cloud-config, shell script,
boothook ...), and the host key cloud-config comes last, so its `ssh_keys` win over any in the user's file.
"""

from __future__ import annotations

import subprocess
import tempfile
from email.mime.multipart import MIMEMultipart
from email.mime.text import MIMEText
from pathlib import Path

import yaml

from ...errors import UserError
from ...files import check_regular, read_text

USER_DATA_MAX = 64 * 1024  # the API's limit on user_data
KEY = "cloud.digitalocean.user_data"
# First line of a user-data file -> the MIME type cloud-init expects for it.
FORMATS = (("#cloud-config", "cloud-config"), ("#!", "x-shellscript"), ("#cloud-boothook", "cloud-boothook"),
           ("#include", "x-include-url"), ("## template: jinja", "jinja2"), ("#part-handler", "part-handler"),
           ("#upstart-job", "upstart-job"))


def read_user_file(base_dir: str | Path, path: str | None) -> tuple[str, str] | None:
    """(MIME subtype, text) of the user's cloud-init file, checked before anything is created."""
    if not path:
        return None
    full = Path(path).expanduser()
    full = full if full.is_absolute() else Path(base_dir) / full
    if not full.exists():
        raise UserError(f"{KEY}: file {path} does not exist (it is the path of a cloud-init file)")
    size = check_regular(full, KEY).st_size
    if size > USER_DATA_MAX:
        raise UserError(f"{KEY}: {path} is {size} bytes; DigitalOcean accepts at most 64 KiB")
    text = read_text(full, KEY, limit=USER_DATA_MAX)  # UTF-8 only: gzip and binary user data are not supported
    first = text.lstrip().split("\n", 1)[0].strip()
    for prefix, subtype in FORMATS:
        if first.startswith(prefix):
            return subtype, text
    raise UserError(f"{KEY}: {path} is not a cloud-init file (first line {first[:40]!r})",
                    hint="start it with '#cloud-config' or a '#!' interpreter line")


def host_key_pair(comment: str) -> tuple[str, str]:
    """(private OpenSSH PEM, public line) of a new ed25519 key; the key file is deleted before returning."""
    with tempfile.TemporaryDirectory(prefix="stagecraft-hostkey-") as tmp:  # 0700
        key = Path(tmp) / "key"
        subprocess.run(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-C", comment, "-f", str(key)],
                       check=True, capture_output=True)  # writes the private key 0600
        private, public = key.read_text(), key.with_suffix(".pub").read_text().strip()
        key.unlink()
    return private, public


def user_data(user_file: tuple[str, str] | None, private_key: str, public_key: str) -> str:
    host_keys = {"ssh_deletekeys": True, "ssh_genkeytypes": [],
                 "ssh_keys": {"ed25519_private": private_key, "ed25519_public": public_key}}
    message = MIMEMultipart()
    if user_file:
        message.attach(_part(user_file[1], user_file[0]))
    message.attach(_part("#cloud-config\n" + yaml.safe_dump(host_keys, sort_keys=False), "cloud-config"))
    text = message.as_string()
    if len(text.encode()) > USER_DATA_MAX:
        raise UserError(f"{KEY}: with the droplet's SSH host keys the user data is {len(text.encode())} bytes; "
                        "DigitalOcean accepts at most 64 KiB", hint="shorten the cloud-init file")
    return text


def _part(text: str, subtype: str) -> MIMEText:
    # ASCII goes as is (7bit); only other text is base64-encoded, which costs a third more of the 64 KiB.
    return MIMEText(text, subtype, "us-ascii" if text.isascii() else "utf-8")
