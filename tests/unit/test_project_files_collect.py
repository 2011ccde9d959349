"""The local files a host's services refer to: which are collected, which are refused, and that a change
to one changes the host's plan."""

from __future__ import annotations

import pytest

from stagecraft.commands.project_files import collect, unpack_script
from stagecraft.errors import UserError

COMPOSE = {
    "services": {
        "web": {"image": "w", "env_file": ["./web.env", {"path": "./opt.env", "required": False}],
                "volumes": ["./conf/site.conf:/etc/site.conf:ro", "./data:/data", "named:/n", "/etc/hosts:/h"],
                "secrets": ["token"], "configs": [{"source": "cfg", "target": "/c"}]},
        "db": {"image": "d", "volumes": [{"type": "bind", "source": "./initdb", "target": "/docker-entrypoint-initdb.d"}]},
    },
    "secrets": {"token": {"file": "./token.txt"}, "env": {"environment": "X"}},
    "configs": {"cfg": {"file": "./cfg.yaml"}},
}


@pytest.fixture
def project(tmp_path):
    for rel, text in {"web.env": "A=1\n", "conf/site.conf": "x\n", "token.txt": "s3cret\n", "cfg.yaml": "k: v\n",
                      "initdb/01.sql": "select 1;\n", "initdb/sub/02.sql": "select 2;\n"}.items():
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    return tmp_path


def test_collects_env_binds_secrets_and_configs_of_the_hosts_services(project):
    web = collect(COMPOSE, project, ["web"])
    assert web.paths == ("cfg.yaml", "conf/site.conf", "token.txt", "web.env")  # ./data and opt.env absent: skipped
    assert web.secret == ("token.txt", "web.env")
    db = collect(COMPOSE, project, ["db"])
    assert db.paths == ("initdb/01.sql", "initdb/sub/02.sql")  # a bound folder: every file below it


def test_a_changed_file_changes_the_digest(project):
    before = collect(COMPOSE, project, ["web"]).digest
    (project / "conf" / "site.conf").write_text("y\n")
    assert collect(COMPOSE, project, ["web"]).digest != before
    assert collect(COMPOSE, project, []).digest == ""


def test_missing_required_env_file_names_service_and_path(project):
    (project / "web.env").unlink()
    with pytest.raises(UserError, match=r"compose service 'web': env_file ./web.env not found"):
        collect(COMPOSE, project, ["web"])


@pytest.mark.parametrize("source", ["../outside.conf", "./conf/../../outside.conf"])
def test_paths_outside_the_compose_folder_are_refused(project, source):
    (project.parent / "outside.conf").write_text("x")
    compose = {"services": {"web": {"image": "w", "volumes": [f"{source}:/x"]}}}
    with pytest.raises(UserError, match="outside the compose file's folder"):
        collect(compose, project, ["web"])


def test_symlink_escaping_the_folder_is_refused(project):
    (project / "link.conf").symlink_to("/etc/passwd")
    compose = {"services": {"web": {"image": "w", "volumes": ["./link.conf:/x"]}}}
    with pytest.raises(UserError, match="outside"):
        collect(compose, project, ["web"])


def test_unpack_script_quotes_paths():
    script = unpack_script("/srv/stagecraft/p", ("a b.env", "x;rm -rf /"))
    assert "'/srv/stagecraft/p/a b.env'" in script and "'/srv/stagecraft/p/x;rm -rf /'" in script
