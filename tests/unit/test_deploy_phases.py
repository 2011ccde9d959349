"""The deploy package's shape: one discovery per session, and one phase sequence whose deploy and
rollback differ only in what they are handed (the processes it would run are replaced here; the
real ones run in tests/integration/test_deploy.py)."""

from __future__ import annotations

import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from stagecraft.config import load_config
from stagecraft.deploy import images, phases, registry, rollout, ship
from stagecraft.deploy.session import Session
from stagecraft.drivers import DriverContext, HostFacts

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "multi"


class Ctx:
    """What the CLI's EnvContext gives a session, with a driver that counts its discoveries."""

    def __init__(self, tmp_path):
        shutil.copytree(FIXTURE, tmp_path / "multi")
        self.loaded = load_config(tmp_path / "multi" / "stagecraft.yml")
        self.resolved = self.loaded.resolve("staging", environ={})
        self.config, self.environment = self.resolved.config, self.resolved.environment
        self.state_dir = tmp_path / "state"
        self.discoveries = 0
        ctx = self

        class Driver:
            @staticmethod
            def discover(dctx):
                ctx.discoveries += 1
                return {h.name: HostFacts(address=f"10.9.0.{i}") for i, h in enumerate(dctx.environment.hosts, 1)}

            @staticmethod
            def connection_defaults(dctx):
                return {}

            @staticmethod
            def host_vars(dctx, host):
                return {}

        self._driver = Driver

    def driver_context(self):
        return DriverContext(config=self.config, environment=self.environment, state_dir=self.state_dir)

    def driver(self):
        return self._driver


class Release:
    """A recorded release, in memory: the phases in the order they ended."""

    id = "rel-test"

    def __init__(self):
        self.phases, self.manifest = [], {}

    @contextmanager
    def phase(self, name):
        yield
        self.phases.append((name, "completed"))

    def skip(self, name, reason=""):
        self.phases.append((name, f"skipped: {reason}"))

    def update_manifest(self, values):
        self.manifest.update(values)


@pytest.fixture
def fake_processes(monkeypatch):
    """Replaces every step that would run a process; records what ran."""
    ran = []
    monkeypatch.setattr(images, "ensure_edge_image", lambda say: ran.append("edge image") or "stagecraft/edge:t")
    monkeypatch.setattr(images, "build_images", lambda *a, **k: ran.append("build") or {})
    monkeypatch.setattr(registry, "push", lambda *a, **k: ran.append("registry push"))
    monkeypatch.setattr(ship, "ship", lambda session, desired, hostvars: ran.append(("ship", sorted(hostvars)))
                        or (desired, set()))
    monkeypatch.setattr(rollout, "roll_batch",
                        lambda session, rel, inventory, hosts, stage, desired: ran.append(("batch", tuple(hosts), stage))
                        or {h: {"services": {}} for h in hosts})
    monkeypatch.setattr(phases, "run_hook", lambda config, env, name, extra, say: ran.append(("hook", name)))
    monkeypatch.setattr(phases, "migrate", lambda session, rel, strategy, *a, **k: rel.skip(
        "migrate_pre" if strategy == "pre_deploy" else "migrate_post", "none"))
    return ran


def test_a_session_discovers_the_hosts_once(tmp_path):
    ctx = Ctx(tmp_path)
    session = Session(ctx)
    first = session.inventory().hostvars
    session.inventory({})
    assert session.addresses["data-1"] == first["data-1"]["ansible_host"]
    assert ctx.discoveries == 1


def test_deploy_runs_every_phase_in_order_with_one_discovery(tmp_path, fake_processes):
    from stagecraft.deploy.render import compose_of

    ctx = Ctx(tmp_path)
    compose, compose_dir = compose_of(ctx.config)
    rel = Release()
    work = phases.Work(kind="deploy", version="v1", build=phases.Build(compose, compose_dir, []))
    result = phases.run_phases(Session(ctx), rel, work)
    assert [p for p, _ in rel.phases] == ["build", "push", "migrate_pre", "rollout", "migrate_post", "finalize"]
    assert ctx.discoveries == 1
    assert [r for r in fake_processes if isinstance(r, tuple) and r[0] == "hook"] == [
        ("hook", "pre-build"), ("hook", "pre-deploy"), ("hook", "post-deploy")]
    # Hosts roll in role order: data first, the gateway last.
    batches = [r[1] for r in fake_processes if isinstance(r, tuple) and r[0] == "batch"]
    assert batches[0] == ("data-1",) and batches[-1] == ("edge-1",)
    assert set(rel.manifest["hosts"]) == set(result.desired) == {"data-1", "edge-1", "web-1", "web-2"}


def test_rollback_runs_the_same_sequence_with_recorded_hosts(tmp_path, fake_processes):
    from stagecraft.deploy.render import compose_of, desired_from_manifest, manifest_hosts, render_all

    ctx = Ctx(tmp_path)
    compose, _ = compose_of(ctx.config)
    recorded = manifest_hosts(render_all(ctx.config, ctx.environment, {}, compose, "v0", "e", []))
    rel = Release()
    work = phases.Work(kind="rollback", version="v0", desired=desired_from_manifest({"hosts": recorded}),
                       skip_build="reuses", skip_migrations="never")
    phases.run_phases(Session(ctx), rel, work)
    assert rel.phases == [("build", "skipped: reuses"), ("push", "completed"), ("migrate_pre", "skipped: never"),
                          ("rollout", "completed"), ("migrate_post", "skipped: never"), ("finalize", "completed")]
    assert "build" not in fake_processes and not [r for r in fake_processes if r[0] == "hook"]
    # What the hosts run now: the recorded plans (with the image refs hosts kept, none here).
    assert rel.manifest["hosts"] == recorded


def test_the_migrate_phases_skip_with_the_reason_or_name_what_is_missing(tmp_path):
    """The real migrate phase (no stubs): post_deploy has no database here; pre_deploy's migrations
    directory is missing, which the message names by key path."""
    from stagecraft.deploy.migrations import migrate
    from stagecraft.errors import UserError

    ctx = Ctx(tmp_path)
    rel = Release()
    migrate(Session(ctx), rel, "post_deploy", {}, None)
    assert rel.phases == [("migrate_post", "skipped: no post_deploy migrations configured")]
    with pytest.raises(UserError, match="databases.main.migrations.path: directory not found"):
        migrate(Session(ctx), rel, "pre_deploy", {}, None)
