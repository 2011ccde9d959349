"""Hostile values on a real host: `{{ lookup('pipe', ...) }}` and `{% %}` in a config var, in a ${VAR} from the
env file, in a secret from the env file and in a compose environment value never run during `infra up`,
`inventory`, `render` and `deploy`, and arrive literally in the container; the project directory (so the
SSH key and known_hosts paths) holds a space."""

from __future__ import annotations

import json
import shutil
import time

import pytest
import yaml

from tests.hosts import example_files

pytestmark = pytest.mark.hosts


def test_hostile_values_reach_the_host_as_data(local_hosts, tmp_path):
    pwned = tmp_path / "pwned"

    def pipe(tag: str) -> str:
        return "{{ lookup('pipe', 'touch %s-%s; echo x') }}" % (pwned, tag)

    values = {"note": pipe("vars"), "from_env": pipe("interpolated"), "compose": pipe("compose"),
              "secret": '{%% for i in [1] %%}{{ lookup("pipe", "touch %s-secret") }}{%% endfor %%} "q" $HOME' % pwned}
    env = local_hosts.create("inert", {"app-1": ["app", "gateway"]}, up=False)
    spaced = env.project_dir.parent / "inert project"  # the key and known_hosts paths hold a space
    env.project_dir.rename(spaced)
    env.project_dir = spaced
    files = example_files("web")
    compose = yaml.safe_load(files["docker-compose.yml"])
    compose["services"]["web"]["environment"]["INERT_COMPOSE"] = values["compose"]
    files["docker-compose.yml"] = yaml.safe_dump(compose, sort_keys=False)
    for rel, text in files.items():
        (spaced / rel).parent.mkdir(parents=True, exist_ok=True)
        (spaced / rel).write_text(text)
    (spaced / ".env.local").write_text(f"APP_HEALTHY=true\nINERT_VALUE=\"{values['from_env']}\"\n"
                                       f"INERT_SECRET='{values['secret']}'\n")  # single quotes: taken as written
    config = yaml.safe_load(env.config_path.read_text())
    config["environments"]["local"].update({"env_file": ".env.local",
                                            "vars": {"inert_note": values["note"], "inert_from_env": "${INERT_VALUE}"}})
    config["roles"]["app"]["services"] = ["web"]
    config["services"] = {"web": {"port": 8080, "secrets": ["INERT_SECRET"], "public": {"path": "/"},
                                  "rollout": {"strategy": "rolling", "healthcheck_timeout": 60}}}
    env.config_path.write_text(yaml.safe_dump(config, sort_keys=False))

    started = time.monotonic()
    env.up()  # infra up: the roles run with these vars
    print(f"infra up {time.monotonic() - started:.0f} s")
    assert "!unsafe" in env.inventory_path.read_text()
    env.cli("render", "-e", "local")
    started = time.monotonic()
    deployed = json.loads(env.cli("deploy", "-e", "local", "--version", "v1", "-o", "json").stdout)
    print(f"deploy {time.monotonic() - started:.0f} s")
    assert not list(tmp_path.glob("pwned*")), "a value was templated: its command ran"

    container = env.ssh("app-1", "docker ps -q --filter label=com.docker.compose.service=web | head -n 1").stdout.strip()
    environment = json.loads(env.ssh("app-1", f"docker inspect --format '{{{{json .Config.Env}}}}' {container}").stdout)
    got = dict(e.split("=", 1) for e in environment)
    assert got["INERT_COMPOSE"] == values["compose"] and got["INERT_SECRET"] == values["secret"], got
    assert any(u.startswith("200 ") for u in deployed["urls"].values()), deployed["urls"]
    # What ansible-runner read: the values tagged !unsafe, the secret not at all.
    runs = sorted((env.state_dir / "runs").iterdir())
    text = (runs[-1] / "inventory" / "hosts.yml").read_text()
    assert "inert_note: !unsafe" in text and values["secret"] not in text
    shutil.rmtree(spaced / "web", ignore_errors=True)
