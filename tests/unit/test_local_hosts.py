"""Pure parts of the `local` driver: names, labels, the base-image content key and the `docker` argv."""

from __future__ import annotations

from pathlib import Path

import pytest

from stagecraft.commands import local_hosts as lh
from stagecraft.config import load_config
from stagecraft.drivers import DriverContext
from stagecraft.drivers import local as local_driver


def _pairs(argv: list[str], flag: str) -> list[str]:
    """Values that follow every occurrence of `flag` in argv."""
    return [argv[i + 1] for i, a in enumerate(argv[:-1]) if a == flag]


def test_names_are_derived_from_project_env_and_host():
    assert lh.container_name("shop", "local", "app-1") == "shop-local-app-1"
    assert lh.network_name("shop", "local") == "shop-local"
    assert lh.volume_names("shop", "local", "app-1") == {"/srv": "shop-local-app-1-data",
                                                         "/var/lib/docker": "shop-local-app-1-docker"}
    # Another environment of the same project never shares a resource name.
    assert lh.network_name("shop", "staging") != lh.network_name("shop", "local")


def test_labels_and_filters_select_one_environment():
    assert lh.labels("shop", "local", "gw-1", ["gateway", "app"]) == {
        "stagecraft.managed": "true", "stagecraft.project": "shop", "stagecraft.env": "local",
        "stagecraft.host": "gw-1", "stagecraft.roles": "gateway,app"}
    assert lh.label_filters("shop", "local") == ["--filter=label=stagecraft.managed=true",
                                                 "--filter=label=stagecraft.project=shop",
                                                 "--filter=label=stagecraft.env=local"]


def test_content_key_is_stable_and_follows_the_recipe():
    base = lh.recipe()
    assert lh.content_key(base) == lh.content_key(lh.recipe())
    assert lh.content_key(dict(reversed(list(base.items())))) == lh.content_key(base)  # key order is irrelevant
    changed = [lh.recipe(suite="bookworm"), lh.recipe(mirror="http://mirror.example/debian"),
               {**base, "include": base["include"] + ["curl"]}, {**base, "format": base["format"] + 1}]
    keys = {lh.content_key(spec) for spec in changed}
    assert len(keys) == len(changed) and lh.content_key(base) not in keys
    tag = lh.base_image_tag(base)
    assert tag == f"stagecraft/host-base:trixie-{lh.content_key(base)}"
    assert tag != lh.BASE_ALIAS


def test_recipe_installs_what_hosts_need():
    spec = lh.recipe()
    assert spec["suite"] == "trixie" and spec["variant"] == "minbase"
    assert {"python3", "openssh-server", "sudo", "iproute2", "ca-certificates"} <= set(spec["include"])
    assert "docker.io" not in spec["include"]  # hosts are bare; the bootstrap role installs Docker


def test_debootstrap_argv_uses_the_default_mirror_unless_one_is_given():
    spec = lh.recipe()
    argv = lh.debootstrap_argv(spec, "/tmp/rootfs")
    assert argv[:2] == ["debootstrap", "--variant=minbase"]
    assert argv[-2:] == ["trixie", "/tmp/rootfs"]
    assert "--include=ca-certificates,iproute2,openssh-server,python3,sudo" in argv
    mirrored = lh.debootstrap_argv(lh.recipe(mirror="http://m.example/debian"), "/r")
    assert mirrored[-3:] == ["trixie", "/r", "http://m.example/debian"]


def test_import_argv_reads_the_tarball_from_stdin():
    assert lh.import_argv("img:1")[:2] == ["docker", "import"]
    assert lh.import_argv("img:1")[-2:] == ["-", "img:1"]


def test_network_argv_with_and_without_subnet():
    plain = lh.network_create_argv("shop", "local")
    assert plain[:4] == ["docker", "network", "create", "--driver"] and plain[-1] == "shop-local"
    assert "--subnet" not in plain
    assert "stagecraft.project=shop" in _pairs(plain, "--label")
    with_subnet = lh.network_create_argv("shop", "local", "10.77.0.0/24")
    assert _pairs(with_subnet, "--subnet") == ["10.77.0.0/24"]


def test_run_argv_matches_the_measured_host_recipe():
    argv = lh.run_argv("shop", "local", "app-1", ["app"], "img:1", "ssh-ed25519 AAAA k")
    assert argv[:3] == ["docker", "run", "-d"]
    assert "--privileged" not in argv  # fails on these kernels; capabilities are named one by one
    assert set(_pairs(argv, "--cap-add")) >= {"SYS_ADMIN", "NET_ADMIN"}
    assert "--cgroupns=host" in argv
    assert "/sys/fs/cgroup:/sys/fs/cgroup:rw" in _pairs(argv, "-v")
    assert _pairs(argv, "--device") == ["/dev/net/tun"]
    assert "/run" in _pairs(argv, "--tmpfs")
    assert _pairs(argv, "--hostname") == ["app-1"]
    assert _pairs(argv, "--name") == ["shop-local-app-1"]
    assert _pairs(argv, "--network") == ["shop-local"]
    assert {"shop-local-app-1-data:/srv", "shop-local-app-1-docker:/var/lib/docker"} <= set(_pairs(argv, "-v"))
    assert {"stagecraft.host=app-1", "stagecraft.roles=app", "stagecraft.env=local"} <= set(_pairs(argv, "--label"))
    assert "STAGECRAFT_AUTHORIZED_KEY=ssh-ed25519 AAAA k" in _pairs(argv, "-e")
    # The image, then a command that keeps sshd in the foreground (no systemd in the host).
    image_at = argv.index("img:1")
    assert argv[image_at + 1:image_at + 3] == ["/bin/sh", "-c"]
    assert "exec /usr/sbin/sshd -D" in argv[image_at + 3]


def test_run_argv_without_tun_device():
    argv = lh.run_argv("shop", "local", "app-1", ["app"], "img:1", "k", tun=False)
    assert "--device" not in argv


def test_ssh_command_names_key_known_hosts_and_root():
    assert lh.ssh_command("172.18.0.2", "/p/.stagecraft/ssh/id_ed25519", "/p/.stagecraft/known_hosts/local") == (
        "ssh -i /p/.stagecraft/ssh/id_ed25519 -o UserKnownHostsFile=/p/.stagecraft/known_hosts/local root@172.18.0.2")


def _ctx(tmp_path: Path) -> DriverContext:
    (tmp_path / "stagecraft.yml").write_text(
        "project: {name: unitdrv}\nenvironments:\n  local:\n    driver: local\n"
        "    hosts: {app-1: {roles: [app]}}\nroles: {app: {}}\n")
    resolved = load_config(tmp_path / "stagecraft.yml").resolve("local", environ={})
    return DriverContext(resolved.config, resolved.environment, tmp_path / ".stagecraft")


def test_key_file_lives_in_the_state_dir(tmp_path):
    ctx = _ctx(tmp_path)
    assert local_driver.key_file(ctx) == tmp_path / ".stagecraft" / "ssh" / "id_ed25519"
    assert local_driver.connection_defaults(ctx) == {"key": str(local_driver.key_file(ctx))}


@pytest.mark.parametrize("environ", [{"PATH": "/nonexistent"}, {"DOCKER_HOST": "unix:///nonexistent/docker.sock"}])
def test_discover_is_empty_without_an_engine(tmp_path, monkeypatch, environ):
    # `stagecraft inventory -e local` must still render (without addresses) when no engine answers.
    for name, value in environ.items():
        monkeypatch.setenv(name, value)
    assert local_driver.discover(_ctx(tmp_path)) == {}
