"""`stagecraft ci init --set-secrets`, `ci run`, `ci status` against the GitHub emulator.

Every request and response is checked against GitHub's official REST description (@octokit/openapi);
each test ends with zero violations. Sealed secrets are opened with the emulator's private keys.
"""

from __future__ import annotations

import json
import re
import urllib.request

import pytest

from stagecraft.testing.github_emulator import Emulator
from tests.ci_project import ENVIRON, make_project
from tests.ci_tools import cli, environ, require_spec


@pytest.fixture()
def gh():
    em = Emulator()
    yield em
    em.close()
    assert em.violations == []  # every request and response of every test follows GitHub's description


@pytest.fixture()
def project(tmp_path):
    return make_project(tmp_path / "shop")


def _env(gh, **extra):
    return environ({**ENVIRON, "GITHUB_API_URL": gh.url, "GITHUB_TOKEN": gh.token, **extra})


def _init(project, gh, *args, env=None):
    proc = cli(project, env or _env(gh), "ci", "init", *args)
    gh.push_workflow("stagecraft.yml", (project / ".github" / "workflows" / "stagecraft.yml").read_text()) \
        if proc.returncode == 0 else None
    return proc


def _no_secret_printed(proc, values):
    for value in values:
        assert value not in proc.stdout and value not in proc.stderr


def test_emulator_checks_requests_against_githubs_description():
    """The validator can fail: a secret PUT without key_id and an unknown query parameter are violations."""
    require_spec()
    gh = Emulator()
    assert gh.spec is not None
    req = urllib.request.Request(f"{gh.url}/repos/acme/shop/actions/secrets/X", method="PUT",
                                 data=json.dumps({"encrypted_value": "AAAA"}).encode(),
                                 headers={"Authorization": f"Bearer {gh.token}"})
    with pytest.raises(urllib.error.HTTPError) as exc:
        urllib.request.urlopen(req)
    assert exc.value.code == 422
    req = urllib.request.Request(f"{gh.url}/repos/acme/shop/actions/runs/1/jobs?colour=red",
                                 headers={"Authorization": f"Bearer {gh.token}"})
    with pytest.raises(urllib.error.HTTPError):
        urllib.request.urlopen(req)
    gh.close()
    assert any("key_id" in v for v in gh.violations)
    assert any("colour" in v for v in gh.violations)


def test_set_secrets_seals_every_value(project, gh):
    require_spec()
    env = _env(gh)
    del env["WEB_SECRET"]  # prod reads it from its env_file; staging has none
    proc = _init(project, gh, "-e", "prod", "--set-secrets", env=env)
    assert proc.returncode == 0, proc.stderr
    assert gh.violations == []
    assert gh.secrets[("prod", "WEB_SECRET")] == "web-secret-prod-envfile"
    assert gh.secrets[("prod", "STAGECRAFT_SSH_KEY")] == (project / "keys" / "prod_ed25519").read_text()
    assert gh.secrets[("prod", "STAGECRAFT_KNOWN_HOSTS")] == (project / ".stagecraft/known_hosts/prod").read_text()
    assert gh.secrets[("prod", "TAILSCALE_AUTH_KEY")] == "tskey-auth-123"
    assert ("prod", "DIGITALOCEAN_TOKEN") not in gh.secrets  # prod's hosts are not droplets
    assert gh.secrets[("repository", "REGISTRY_PASSWORD")] == "registry-pass-1"
    assert "prod" in gh.environments  # created so its protection rules can be set
    # values travel sealed, never in the clear, and are never printed
    sent = json.dumps([r["body"] for r in gh.requests])
    values = list(gh.secrets.values()) + [gh.token]
    for value in values:
        assert value.strip() not in sent
    _no_secret_printed(proc, values)
    again = cli(project, env, "ci", "init", "-e", "prod", "--set-secrets", "-o", "json")
    assert again.returncode == 0, again.stderr
    assert {r["result"] for r in json.loads(again.stdout)["secrets"]} == {"updated"}


def test_set_secrets_names_every_missing_value_before_sending(project, gh):
    env = _env(gh)
    del env["TAILSCALE_AUTH_KEY"], env["REGISTRY_USER"]
    proc = _init(project, gh, "--set-secrets", env=env)
    assert proc.returncode == 1
    assert "TAILSCALE_AUTH_KEY" in proc.stderr and "REGISTRY_USER" in proc.stderr
    assert not [r for r in gh.requests if r["method"] == "PUT"]


def test_set_secrets_403_names_the_permission(project, gh):
    gh.inject("GET", r"/secrets/public-key$", 403, permissions="secrets=write", scopes="repo")
    proc = _init(project, gh, "--set-secrets")
    assert proc.returncode == 2
    assert "secrets=write" in proc.stderr and "scope repo" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_missing_token(project, gh):
    env = _env(gh)
    del env["GITHUB_TOKEN"]
    proc = _init(project, gh, "--set-secrets", env=env)
    assert proc.returncode == 1 and "GITHUB_TOKEN or GH_TOKEN" in proc.stderr
    proc = _init(project, gh, "--set-secrets", env={**env, "GH_TOKEN": gh.token})
    assert proc.returncode == 0, proc.stderr


def test_run_follows_its_own_run_to_success(project, gh):
    require_spec()
    assert _init(project, gh).returncode == 0
    gh.interleave = True  # someone else dispatches just before and just after
    proc = cli(project, _env(gh), "ci", "run", "-e", "prod", "--version", "v2", "--follow", "--interval", "0",
               "-o", "json")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    ours = gh.runs[run["id"]]
    assert ours["_inputs"]["environment"] == "prod" and ours["_inputs"]["version"] == "v2"
    assert not ours["_inputs"]["dispatch_id"].startswith("someone-else")
    assert run["status"] == "completed" and run["conclusion"] == "success"
    jobs = {j["name"]: j for j in run["jobs"]}
    assert jobs["deploy prod"]["conclusion"] == "success"
    assert jobs["deploy staging"]["conclusion"] == "skipped"
    assert "deploy prod / Deploy: completed (success)" in proc.stderr  # live progress on stderr
    assert gh.violations == []
    _no_secret_printed(proc, [gh.token])


def test_run_without_run_details_finds_its_run_by_dispatch_id(project, gh):
    assert _init(project, gh).returncode == 0
    gh.interleave = gh.legacy_dispatch = True
    proc = cli(project, _env(gh), "ci", "run", "-e", "staging", "-o", "json", "--interval", "0")
    assert proc.returncode == 0, proc.stderr
    run = json.loads(proc.stdout)
    dispatch_id = gh.runs[run["id"]]["_inputs"]["dispatch_id"]
    assert re.fullmatch(r"[0-9a-f]{16}", dispatch_id)
    assert run["title"].endswith(dispatch_id)
    assert gh.violations == []


def test_run_failure_exits_2_and_names_the_step(project, gh):
    assert _init(project, gh).returncode == 0
    gh.fail_step = ("deploy prod", "Deploy")
    proc = cli(project, _env(gh), "ci", "run", "-e", "prod", "--follow", "--interval", "0")
    assert proc.returncode == 2
    assert "deploy prod / Deploy: completed (failure)" in proc.stdout
    assert re.search(r"run \d+ concluded failure", proc.stderr)
    assert gh.violations == []


def test_run_missing_workflow_is_a_clear_404(project, gh):
    proc = cli(project, _env(gh), "ci", "run", "-e", "prod")  # ci init never pushed
    assert proc.returncode == 2
    assert "dispatch workflow stagecraft.yml" in proc.stderr and "404" in proc.stderr
    assert "committed and pushed" in proc.stderr


def test_run_rejected_dispatch_422(project, gh):
    assert _init(project, gh).returncode == 0
    gh.inject("POST", r"/dispatches$", 422)
    proc = cli(project, _env(gh), "ci", "run", "-e", "prod")
    assert proc.returncode == 2 and "422" in proc.stderr and "injected failure" in proc.stderr


def test_run_of_an_environment_the_workflow_does_not_deploy(project, gh):
    assert _init(project, gh, "-e", "prod").returncode == 0
    proc = cli(project, _env(gh), "ci", "run", "-e", "nope")
    assert proc.returncode == 1 and "unknown environment 'nope'" in proc.stderr


def test_rate_limits_are_waited_out(project, gh):
    assert _init(project, gh).returncode == 0
    gh.inject("POST", r"/dispatches$", 429, retry_after=1)
    gh.inject("GET", r"/actions/runs/\d+$", 403, reset_in=1)
    proc = cli(project, _env(gh), "ci", "run", "-e", "prod", "--follow", "--interval", "0")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("GitHub rate limit reached; waiting") == 2
    dispatches = [r for r in gh.requests if r["path"].endswith("/dispatches")]
    assert len(dispatches) == 2  # the limited one and the retry
    assert gh.violations == []


def test_long_rate_limit_is_an_error_not_a_hang(project, gh):
    assert _init(project, gh).returncode == 0
    gh.inject("POST", r"/dispatches$", 403, reset_in=7200)
    proc = cli(project, _env(gh), "ci", "run", "-e", "prod")
    assert proc.returncode == 2 and "rate limit" in proc.stderr and "resets in" in proc.stderr


def test_status_shows_the_latest_deploy_per_environment(project, gh):
    assert _init(project, gh).returncode == 0
    first = cli(project, _env(gh), "ci", "run", "-e", "prod", "--follow", "--interval", "0", "-o", "json")
    assert first.returncode == 0, first.stderr
    proc = cli(project, _env(gh), "ci", "status", "-o", "json")
    assert proc.returncode == 0, proc.stderr
    status = json.loads(proc.stdout)
    assert status["staging"] is None
    assert status["prod"]["id"] == json.loads(first.stdout)["id"]
    assert status["prod"]["jobs"][0]["name"] == "deploy prod"
    assert status["prod"]["jobs"][0]["conclusion"] == "success"
    text = cli(project, _env(gh), "ci", "status")
    assert "staging: no deploy yet" in text.stdout and "prod: completed success" in text.stdout
    assert gh.violations == []
