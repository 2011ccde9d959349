"""Plugins through Python entry points: the built-ins are found that way, and a third-party package
(a real distribution on sys.path, with its entry_points.txt) adds a driver and a backend."""

from __future__ import annotations

import dataclasses
import shutil
from pathlib import Path

import pytest

from stagecraft import plugins
from stagecraft.errors import UserError

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "multi"


def test_builtins_are_registered_as_entry_points():
    assert {"local", "ssh", "digitalocean"} <= set(plugins.names("driver"))
    assert {"generic", "encore-ts"} <= set(plugins.names("backend"))
    assert "raw" in plugins.names("migration_engine")
    assert "env" in plugins.names("secrets")
    from stagecraft.drivers import local

    assert plugins.load("driver", "local") is local


def test_unknown_plugin_is_a_user_error_naming_the_key():
    with pytest.raises(UserError, match=r"backend.provider: unknown backend 'nope' \(installed: .*encore-ts"):
        plugins.load("backend", "nope", key="backend.provider")


@pytest.fixture
def third_party(tmp_path, monkeypatch):
    """An installed package `stagecraft-acme` declaring a driver and a backend."""
    site = tmp_path / "site"
    (site / "stagecraft_acme").mkdir(parents=True)
    (site / "stagecraft_acme" / "__init__.py").write_text("")
    (site / "stagecraft_acme" / "driver.py").write_text(
        "from stagecraft.drivers import HostFacts\n"
        "def discover(ctx):\n"
        "    return {h.name: HostFacts(address=f'198.51.100.{i}') for i, h in enumerate(ctx.environment.hosts, 1)}\n"
        "def connection_defaults(ctx):\n"
        "    return {'key': '/keys/acme'}\n"
        "def host_vars(ctx, host):\n"
        "    return {'acme_zone': 'z1'}\n")
    (site / "stagecraft_acme" / "backend.py").write_text(
        "class Acme:\n"
        "    def image_service(self, config): return 'api'\n"
        "    def tag_suffix(self, config): return '-acme'\n"
        "    def build_override(self, config, service): return None\n"
        "    def build_command(self, config, service, ref): return (['acme-build', ref], None, 'acme-build')\n"
        "backend = Acme()\n")
    dist = site / "stagecraft_acme-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: stagecraft-acme\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[stagecraft.drivers]\nacme = stagecraft_acme.driver\n\n"
                                          "[stagecraft.backends]\nacme = stagecraft_acme.backend:backend\n")
    monkeypatch.syspath_prepend(str(site))
    plugins.refresh()
    yield
    plugins.refresh()


def test_a_third_party_driver_feeds_the_inventory(third_party, tmp_path):
    from stagecraft.config import load_config
    from stagecraft.deploy.session import Session

    assert "acme" in plugins.names("driver")
    shutil.copytree(FIXTURE, tmp_path / "multi")
    resolved = load_config(tmp_path / "multi" / "stagecraft.yml").resolve("staging", environ={})
    env = dataclasses.replace(resolved.environment, driver="acme")

    class Ctx:  # what the CLI's EnvContext offers a session
        config, environment, state_dir = resolved.config, env, tmp_path / "state"

        def driver_context(self):
            from stagecraft.drivers import DriverContext

            return DriverContext(config=self.config, environment=self.environment, state_dir=self.state_dir)

        def driver(self):
            from stagecraft.drivers import get_driver

            return get_driver(self.environment.driver)

    hostvars = Session(Ctx()).inventory().hostvars
    first = env.hosts[0].name
    assert hostvars[first]["acme_zone"] == "z1"
    assert hostvars[first]["ansible_host"] == "198.51.100.1"
    assert hostvars[first]["stagecraft_driver"] == "acme"


def test_a_third_party_backend_builds_its_service(third_party):
    from stagecraft.commands.compose_render import built_services, image_refs
    from stagecraft.config import load_config
    from stagecraft.config.providers import Provider
    from stagecraft.deploy.render import compose_of

    # The schema lists the built-in backends; the model takes any registered one.
    base = load_config(FIXTURE / "stagecraft.yml").resolve("staging", environ={}).config
    config = dataclasses.replace(base, backend=Provider(kind="backend", provider="acme", service="api"))
    compose, _ = compose_of(config)
    assert "api" in built_services(config, compose)
    assert image_refs(config, compose, "v3")["api"].endswith("/api:v3-acme")
