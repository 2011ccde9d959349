"""env_file + process environment, ${VAR} / ${VAR:-default} interpolation, redaction."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from stagecraft.config import load_config
from stagecraft.config.resolve import interpolate
from stagecraft.errors import ConfigError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "multi"


@pytest.fixture
def multi(tmp_path):
    dest = tmp_path / "multi"
    shutil.copytree(FIXTURE, dest)
    return dest


def test_interpolation_forms():
    data = {"a": "${X}", "b": "${Y:-dflt}", "c": "$${X}", "d": ["x-${X}-y"], "e": 5, "f": "${EMPTY:-e}",
            "g": "${EMPTY}", "h": "$HOME stays"}
    out, issues = interpolate(data, {"X": "1", "EMPTY": ""})
    assert issues == []
    assert out == {"a": "1", "b": "dflt", "c": "${X}", "d": ["x-1-y"], "e": 5, "f": "e", "g": "", "h": "$HOME stays"}


def test_unset_variable_is_an_error_naming_the_key(multi):
    text = (multi / "stagecraft.yml").read_text().replace("address: 10.0.0.11", 'address: "${WEB1_ADDR}"')
    (multi / "stagecraft.yml").write_text(text)
    loaded = load_config(multi / "stagecraft.yml")
    with pytest.raises(ConfigError) as info:
        loaded.resolve("staging", environ={})
    (issue,) = info.value.issues
    assert issue.key_path == "environments.staging.hosts.web-1.address"
    assert "${WEB1_ADDR} is not set" in issue.message
    assert issue.position.line == 14


def test_env_file_loaded_and_process_env_overrides(multi):
    loaded = load_config(multi / "stagecraft.yml")
    resolved = loaded.resolve("staging", environ={"WEB2_ADDR": "10.9.9.9"})
    assert resolved.variables["API_TOKEN"] == "s3cr3t-canary-token"  # from .env.staging
    assert resolved.environment.host("web-2").address == "10.9.9.9"
    resolved = loaded.resolve("staging", environ={"API_TOKEN": "from-process"})
    assert resolved.variables["API_TOKEN"] == "from-process"
    assert resolved.environment.host("web-2").address == "10.0.0.12"  # the :-default


def test_missing_env_file_is_reported(multi):
    (multi / ".env.staging").unlink()
    loaded = load_config(multi / "stagecraft.yml")
    with pytest.raises(ConfigError) as info:
        loaded.resolve("staging", environ={})
    assert info.value.issues[0].key_path == "environments.staging.env_file"


def test_config_show_redacts_secret_values(multi, run_cli):
    text = (multi / "stagecraft.yml").read_text().replace(
        "project:\n", "project:\n  compose_file: docker-compose.yml\n")
    text = text.replace("ssh: {port: 22}}", "ssh: {port: 22}, vars: {app_token: '${API_TOKEN}'}}")
    (multi / "stagecraft.yml").write_text(text)
    for fmt in ("text", "json"):
        code, out, err = run_cli(["config", "show", "-e", "staging", "-o", fmt], cwd=multi,
                                 env={"TS_KEY": "tskey-auth-canary"})
        assert code == 0, err
        for secret in ("s3cr3t-canary-token", "pw-canary-value", "tskey-auth-canary"):
            assert secret not in out + err
        assert "<redacted>" in out
    shown = json.loads(out)
    assert list(shown["environments"]) == ["staging"]
    assert shown["environments"]["staging"]["hosts"]["edge-1"]["vars"]["app_token"] == "<redacted>"
    assert shown["network"]["tailscale"]["up_timeout"] == 120  # schema default filled in
    assert shown["placement"] == {"api": "app", "db": "db", "proxy": "gateway", "web": "app"}
