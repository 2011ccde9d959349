"""Which databases `stagecraft dev` migrates and how psql reaches the dev database (nothing is run here; the
real run: tests/integration/test_platform.py)."""

from __future__ import annotations

import yaml

from stagecraft.config import load_config
from stagecraft.dev import migrations
from stagecraft.dev.plan import Options, build_plan


def project(tmp_path, strategy="pre_deploy", service="db"):
    (tmp_path / "db").mkdir(parents=True)
    (tmp_path / "db" / "001_a.sql").write_text("CREATE TABLE a (id int);\n")
    (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump({"services": {
        "db": {"image": "postgres"}, "api": {"build": "."}}}))
    (tmp_path / "stagecraft.yml").write_text(yaml.safe_dump({
        "version": 1, "project": {"name": "demo"}, "environments": {"dev": {"driver": "local"}},
        "databases": {"main": {"connection_env": "DATABASE_URL", "service": service, "migrations": {
            "engine": "raw", "path": "db", "strategy": strategy, "run_in": "db"}}},
        "backend": {"provider": "generic", "service": "api", "generic": {"dev": {"command": ["true"], "port": 4000}}},
        "dev": {"publish": {"db": ["127.0.0.1:5433:5432"]}}}))
    config = load_config(tmp_path / "stagecraft.yml").config
    return config, build_plan(config, tmp_path, {}, Options(proxy=False))


def test_databases_of_infra_services_are_migrated_unless_manual(tmp_path):
    config, plan = project(tmp_path / "a")
    assert plan.infra_services == ("db",) and plan.migrations == ("main",)
    assert plan.describe()["migrations"] == ["main"]
    assert project(tmp_path / "b", strategy="manual")[1].migrations == ()
    assert project(tmp_path / "c", service="api")[1].migrations == ()  # api is a dev process, not a container


def test_psql_runs_in_the_database_container_on_the_container_port(tmp_path):
    config, plan = project(tmp_path)
    (target,) = migrations.deploy_migrations.database_targets(
        config, {"DATABASE_URL": "postgresql://app:s3cret@127.0.0.1:5433/app"}, "dev")
    psql = migrations.DevPsql(plan, target, "db", "postgresql://app:s3cret@127.0.0.1:5433/app",
                              config.dev.publish["db"], {})
    assert psql.argv[psql.argv.index("exec"):psql.argv.index("exec") + 6] == ["exec", "-T", "-e", "PGPASSWORD", "db",
                                                                              "psql"]
    assert "host='127.0.0.1' port='5432' user='app' dbname='app'" in psql.argv
    assert not [a for a in psql.argv if "s3cret" in a] and psql.env["PGPASSWORD"] == "s3cret"
    assert psql.where == "the dev container of db"


def test_container_port_follows_dev_publish():
    assert migrations.container_port(["127.0.0.1:5433:5432"], 5433) == 5432
    assert migrations.container_port(["6543:5432/tcp"], 6543) == 5432
    assert migrations.container_port([], 5432) == 5432


def test_a_database_without_its_url_in_dev_is_skipped_with_a_note(tmp_path):
    config, plan = project(tmp_path)
    said = []
    assert migrations.apply_all(plan, config, {}, said.append) == []
    assert said == ["migrations: main: skipped (DATABASE_URL is not set for dev; set it in the dev env_file)"]
