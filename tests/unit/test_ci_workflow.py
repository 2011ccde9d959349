"""The workflow `stagecraft ci init` writes: its shape, and actionlint's verdict."""

from __future__ import annotations

import re

import pytest
import yaml

from tests.ci_project import make_project
from tests.ci_tools import actionlint, cli, environ


@pytest.fixture()
def project(tmp_path):
    root = make_project(tmp_path / "shop")
    proc = cli(root, environ({}), "ci", "init")
    assert proc.returncode == 0, proc.stderr
    return root


def _workflow(root):
    return yaml.safe_load((root / ".github" / "workflows" / "stagecraft.yml").read_text())


def test_workflow_passes_actionlint(project):
    assert actionlint(project / ".github" / "workflows" / "stagecraft.yml") == []


def test_actionlint_catches_a_broken_workflow(tmp_path):
    """The lint step can fail: an undefined context property and a job needing a missing job."""
    bad = tmp_path / "bad.yml"
    bad.write_text("on: push\njobs:\n  a:\n    runs-on: ubuntu-latest\n    needs: nope\n"
                   "    steps:\n      - run: echo ${{ github.nope }}\n")
    assert len(actionlint(bad)) >= 2


def test_jobs_order_triggers_and_environments(project):
    wf = _workflow(project)
    on = wf.get("on") or wf[True]
    assert on["push"] == {"branches": ["main"]}
    inputs = on["workflow_dispatch"]["inputs"]
    assert inputs["environment"]["options"] == ["prod", "staging"]
    assert set(inputs) == {"environment", "version", "dispatch_id"}
    jobs = wf["jobs"]
    assert list(jobs) == ["test", "build", "deploy-prod", "deploy-staging"]
    assert jobs["build"]["needs"] == "test"
    for env in ("prod", "staging"):
        job = jobs[f"deploy-{env}"]
        assert job["needs"] == "build"
        assert job["environment"] == {"name": env}
        # one deploy of an environment at a time, and a running deploy is never cancelled
        assert job["concurrency"] == {"group": f"stagecraft-deploy-{env}", "cancel-in-progress": False}
        assert f"inputs.environment == '{env}'" in job["if"]
        # runners start empty: the state dir is a fresh temp dir, not a committed .stagecraft
        for step in job["steps"][-2:]:
            assert step["env"]["STAGECRAFT_STATE_DIR"] == "${{ runner.temp }}/stagecraft"
    assert wf["permissions"] == {"contents": "read"}


def test_secrets_by_name_and_pinned_install(project):
    wf = _workflow(project)
    deploy = wf["jobs"]["deploy-prod"]
    steps = {s.get("id") or s.get("uses"): s for s in deploy["steps"]}
    assert steps["install"]["env"] == {"STAGECRAFT_REQUIREMENT": "stagecraft==0.1.0"}
    assert steps["runner-state"]["env"]["SSH_PRIVATE_KEY"] == "${{ secrets.STAGECRAFT_SSH_KEY }}"
    assert steps["runner-state"]["env"]["KNOWN_HOSTS"] == "${{ secrets.STAGECRAFT_KNOWN_HOSTS }}"
    env = steps["deploy"]["env"]
    for name in ("DIGITALOCEAN_TOKEN", "TAILSCALE_AUTH_KEY", "REGISTRY_USER", "REGISTRY_PASSWORD", "WEB_SECRET"):
        assert env[name] == f"${{{{ secrets.{name} }}}}"
    assert "GITHUB_TOKEN" not in env  # GitHub reserves the prefix; the runner has its own token
    build = wf["jobs"]["build"]["steps"][-1]
    assert "--push" in build["run"] and build["env"]["REGISTRY_PASSWORD"] == "${{ secrets.REGISTRY_PASSWORD }}"
    assert build["env"]["STAGECRAFT_ENV"] == "${{ inputs.environment || 'prod' }}"  # build resolves one env


def test_uncommitted_env_file_is_created_empty(project):
    """prod's env_file is not in a checkout; the config must still resolve on the runner."""
    for job in ("build", "deploy-prod"):
        step = next(s for s in _workflow(project)["jobs"][job]["steps"] if s.get("id") == "env-files")
        assert step["run"] == '[ -f ".env.prod" ] || : > ".env.prod"\n'


def test_no_expression_inside_run_scripts(project):
    """Inputs reach scripts through env only (no shell injection through a version string)."""
    for job in _workflow(project)["jobs"].values():
        for step in job["steps"]:
            assert "${{" not in step.get("run", ""), step


def test_ci_pins_configured_version_and_keeps_user_files(tmp_path):
    from tests.ci_project import CONFIG

    root = make_project(tmp_path / "shop", CONFIG.replace("  provider: github\n",
                                                          "  provider: github\n  stagecraft: stagecraft==9.9.9\n"))
    (root / ".github" / "workflows").mkdir(parents=True)
    (root / ".github" / "workflows" / "stagecraft.yml").write_text("name: mine\n")
    proc = cli(root, environ({}), "ci", "init")
    assert proc.returncode == 1 and "not written by stagecraft ci init" in proc.stderr
    assert (root / ".github" / "workflows" / "stagecraft.yml").read_text() == "name: mine\n"
    proc = cli(root, environ({}), "ci", "init", "--force", "-e", "prod")
    assert proc.returncode == 0, proc.stderr
    text = (root / ".github" / "workflows" / "stagecraft.yml").read_text()
    assert "stagecraft==9.9.9" in text and "deploy-staging" not in text
    again = cli(root, environ({}), "ci", "init", "-e", "prod", "-o", "json")
    assert '"result": "unchanged"' in again.stdout


def test_unknown_environment_and_missing_ci_block(tmp_path):
    root = make_project(tmp_path / "shop")
    proc = cli(root, environ({}), "ci", "init", "-e", "prdo")
    assert proc.returncode == 1 and "did you mean 'prod'" in proc.stderr
    from tests.ci_project import CONFIG

    bare = make_project(tmp_path / "bare", re.sub(r"ci:\n(  .*\n)+", "", CONFIG))
    proc = cli(bare, environ({}), "ci", "init")
    assert proc.returncode == 1 and "ci: not configured" in proc.stderr
