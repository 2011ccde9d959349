"""Values validated for where they go (spec/inputs.md): the schema's destination rules with the key path,
${VAR} values checked after interpolation, user vars that would override Stagecraft's, and escaping or
argument passing at the point of use (ssh argv, the edge routes, the rollout module)."""

from __future__ import annotations

import importlib.util
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from stagecraft.commands import ssh
from stagecraft.config import load_config
from stagecraft.errors import ConfigError, UserError

ROOT = Path(__file__).resolve().parents[2]

BASE = {"version": 1, "project": {"name": "shop"},
        "environments": {"prod": {"driver": "ssh", "hosts": {"app-1": {"roles": ["app"], "address": "10.0.0.1"}}},
                         "local": {"driver": "local", "hosts": {"h1": {"roles": ["app"]}}}},
        "roles": {"app": {"services": ["web"]}},
        "services": {"web": {"port": 8080, "public": {"host": "shop.example.com", "path": "/api"}}}}


def load(tmp_path, change=None, environ=None, env="prod"):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    for path, value in (change or {}).items():
        node = data
        for part in path[:-1]:
            node = node.setdefault(part, {})
        node[path[-1]] = value
    (tmp_path / "stagecraft.yml").write_text(yaml.safe_dump(data))
    return load_config(tmp_path / "stagecraft.yml").resolve(env, environ=environ or {})


def refused(tmp_path, change, environ=None, env="prod") -> str:
    with pytest.raises(ConfigError) as info:
        load(tmp_path, change, environ, env)
    return info.value.message


REFUSED = [
    (("environments", "prod", "ssh", "user"), "-oProxyCommand=touch /tmp/x", "POSIX user name"),
    (("environments", "prod", "hosts", "app-1", "ssh", "user"), "root x", "POSIX user name"),
    (("environments", "prod", "hosts", "app-1", "address"), "-oProxyCommand=x", "IP address or a DNS name"),
    (("environments", "prod", "hosts", "app-1", "address"), "{{ lookup('pipe','id') }}", "IP address or a DNS name"),
    (("environments", "prod", "ssh", "known_hosts"), "keys/%d/kh", "ssh reads those as its own syntax"),
    (("environments", "prod", "ssh", "key"), 'id"x', "ssh reads those as its own syntax"),
    (("environments", "prod", "ssh", "extra_args"), "-o 'unclosed", "cannot split"),
    (("services", "web", "public", "host"), "a.com; return 200", "a DNS name"),
    (("services", "web", "public", "path"), "/x {\n}", "a URL path"),
    (("services", "web", "public", "path"), "/a;b", "a URL path"),
    (("roles", "app", "services"), ["../../etc/pwn"], "a Compose service name"),
    (("volumes", "docker"), [{"name": "--opt device=/ --opt o=bind"}], "a Docker volume name"),
    (("volumes", "block"), [{"device": "/dev/sdb", "mount": "/mnt/x\n/dev/sda / ext4 defaults 0 0"}], "absolute path"),
    (("volumes", "block"), [{"device": "/dev/sdb", "mount": "/mnt/../etc"}], "absolute path"),
    (("volumes", "block"), [{"device": "/dev/../etc/passwd", "mount": "/mnt/x"}], "/dev/<name>"),
    (("volumes", "block"), [{"device": "/dev/sdb -F", "mount": "/mnt/x"}], "/dev/<name>"),
    (("volumes", "directories"), [{"path": "/srv/../../etc"}], "absolute path"),
    (("project", "registry"), "registry.example.com/acme --insecure", "registry host"),
    (("environments", "local", "local", "image"), "--privileged", "Docker image reference"),
    (("environments", "prod", "vars"), {"{{ x }}": 1}, "an Ansible variable name"),
]


@pytest.mark.parametrize("path,value,rule", REFUSED, ids=[f"{'.'.join(map(str, p))}={v!r}"[:60] for p, v, _ in REFUSED])
def test_destination_rules_refuse_with_the_key_path(tmp_path, path, value, rule):
    message = refused(tmp_path, {path: value})
    key = ".".join(str(p) for p in path)
    assert key in message and rule in message, message


def test_service_names_follow_compose_everywhere(tmp_path):
    message = refused(tmp_path, {("services", "../x"): {"port": 80}})
    assert "services.../x: invalid service name '../x'" in message
    # The compose file's own names too (reported at project.compose_file).
    (tmp_path / "docker-compose.yml").write_text("services:\n  .hidden: {image: a}\n  web: {image: b}\n")
    message = refused(tmp_path, {("roles", "app", "services"): ["web", ".hidden"]})
    assert "project.compose_file: compose service '.hidden': invalid service name" in message
    # The rollout module has the same rule (it is its own program on the host).
    spec = importlib.util.spec_from_file_location("compose_rollout", ROOT / "collections" / "ansible_collections" /
                                                  "stagecraft" / "infra" / "plugins" / "modules" / "compose_rollout.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    schema = yaml.safe_load((ROOT / "spec" / "stagecraft.schema.json").read_text())
    rule = schema["properties"]["services"]["propertyNames"]["pattern"]
    for name in ["web", "a.b_c-1", "A1", "..", "../x", "a/b", "-x", ".x", "web\n", "", "x y"]:
        assert bool(module.SERVICE_NAME.match(name)) == bool(re.fullmatch(rule, name)), name

    class Failed(Exception):
        pass

    class FakeModule:
        def fail_json(self, msg):
            raise Failed(msg)

    with pytest.raises(Failed, match="not a Compose service name"):
        module.refuse_bad_names(FakeModule(), {"services": [{"name": "../../../../etc/ld.so.conf.d/pwn"}],
                                               "edge_service": ""})
    module.refuse_bad_names(FakeModule(), {"services": [{"name": "web"}], "edge_service": "stagecraft-edge"})


def test_interpolated_values_are_checked_after_interpolation_and_stay_redacted(tmp_path):
    change = {("environments", "prod", "hosts", "app-1", "address"): "${ADDR}",
              ("environments", "prod", "vars"): {"db": "${DB_PASSWORD}"}}
    assert load(tmp_path, change, {"ADDR": "10.0.0.9", "DB_PASSWORD": "pw"}).environment.hosts[0].address == "10.0.0.9"
    message = refused(tmp_path, change, {"ADDR": "{{ lookup('pipe','id') }}", "DB_PASSWORD": "pw"})
    assert "environments.prod.hosts.app-1.address: invalid value \"{{ lookup('pipe','id') }}\"" in message
    # A secret interpolated into a checked key is not printed.
    message = refused(tmp_path, {("environments", "prod", "hosts", "app-1", "address"): "${DB_PASSWORD}"},
                      {"DB_PASSWORD": "not an address 7f3e"})
    assert "7f3e" not in message and "<redacted>" in message


@pytest.mark.parametrize("where,name,why", [
    (("environments", "prod", "vars"), "ansible_connection", "Ansible's connection"),
    (("environments", "prod", "hosts", "app-1", "vars"), "compose_project_dir", "compose role"),
    (("environments", "prod", "vars"), "stagecraft_services", "stagecraft_ prefix"),
    (("environments", "prod", "hosts", "app-1", "vars"), "firewall_rules", "rendered from stagecraft.yml"),
    (("environments", "local", "vars"), "bootstrap_docker_source", "rendered from stagecraft.yml"),
])
def test_user_vars_cannot_override_stagecraft_variables(tmp_path, run_cli, where, name, why):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    node = data
    for part in where[:-1]:
        node = node[part]
    node["vars"] = {name: "x", "bootstrap_extra_packages": ["htop"]}  # the latter is a role input users set
    (tmp_path / "stagecraft.yml").write_text(yaml.safe_dump(data))
    code, _, err = run_cli(["config", "validate"], cwd=tmp_path)
    key = ".".join(where) + "." + name
    assert code == 1 and f"{key}: would override '{name}', a variable Stagecraft sets" in err and why in err, err
    assert "stagecraft.yml:" in err  # with its position
    env = where[1]
    code, _, err = run_cli(["inventory", "-e", env], cwd=tmp_path)
    assert code == 1 and key in err and "Traceback" not in err, err
    assert not (tmp_path / ".stagecraft").exists() or env == "local"


def test_role_variables_users_may_set_are_left_to_them(tmp_path, run_cli):
    data = yaml.safe_load(yaml.safe_dump(BASE))
    data["environments"]["prod"]["vars"] = {"bootstrap_extra_packages": ["htop"], "app_setting": "{{ x }}"}
    (tmp_path / "stagecraft.yml").write_text(yaml.safe_dump(data))
    code, out, err = run_cli(["inventory", "-e", "prod", "-o", "json"], cwd=tmp_path)
    assert code == 0, err
    assert "bootstrap_extra_packages" in out and '"__ansible_unsafe": "{{ x }}"' in out


def test_ssh_takes_user_and_address_as_values_never_options(tmp_path):
    """Defence in depth under the schema: real `ssh -G` reads a hostile user as a user name."""
    def effective(argv):
        proc = subprocess.run([*argv[:1], "-G", *argv[1:]], capture_output=True, text=True)
        return proc.stdout + proc.stderr

    # As an option, it would be one (what `user@host` at the end of the options used to allow).
    assert "proxycommand x" in effective(["ssh", "-oProxyCommand=x", "192.0.2.1"])
    for user, address in (("-oProxyCommand=x", "192.0.2.1"), ("deploy", "-oProxyCommand=x")):
        argv = ssh.argv({"ansible_host": address, "ansible_port": 22, "ansible_user": user,
                         ssh.OPTIONS_VAR: ssh.options(tmp_path / "known hosts" / "prod")})
        assert argv[-4:] == ["-l", user, "--", address]
        out = effective(argv)  # a user or host name (which OpenSSH refuses), never an option
        assert "proxycommand" not in out and "contains invalid characters" in out, out
    argv = ssh.argv({"ansible_host": "192.0.2.1", "ansible_user": "deploy",
                     ssh.OPTIONS_VAR: ssh.options(tmp_path / "known hosts" / "prod")})
    assert "user deploy" in effective(argv)
    # A path with spaces is one -o value (quoted as ssh_config reads it), the same list Ansible splits back.
    assert f'UserKnownHostsFile="{tmp_path / "known hosts" / "prod"}"' in argv
    # ssh would read %-tokens, ${VAR} and quotes in a path: refused with what it is.
    for bad in ("/p/%h/kh", "/p/${HOME}/kh", '/p/"/kh', "/p/\n/kh"):
        with pytest.raises(UserError, match="which ssh reads as its own syntax"):
            ssh.options(Path(bad), what="environments.prod.ssh.known_hosts")
    assert ssh.known_hosts_file(argv[1:]) == tmp_path / "known hosts" / "prod"


def test_edge_routes_keep_hostile_names_as_json_strings():
    """render_edge writes JSON (the schema already refuses these; this is the point of use): a hostile name
    or path stays one string of the route, the document keeps its structure."""
    import json

    from stagecraft.commands.compose_render import render_edge
    from stagecraft.config.model import Config
    from tests.hostile import edge_shape

    def edge(host, path):
        config = Config.parse({"project": {"name": "shop"}, "environments": {"e": {"driver": "local", "hosts": {}}},
                               "services": {"web": {"port": 8080, "public": {"host": host, "path": path}}}})
        return render_edge(config, ["web"], [], {}, public=False)

    plain = edge("shop.example.com", "/api")
    bad_host, bad_path = "a.com;\n}\nserver { listen 81", "/x {\n return 200 'pwned'; }\n#"
    hostile = edge(bad_host, bad_path)
    assert edge_shape(hostile) == edge_shape(plain)
    route = json.loads(hostile)["routes"][0]
    assert route["hosts"] == [bad_host] and route["path"] == bad_path
