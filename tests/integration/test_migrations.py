"""Raw SQL migrations against a real PostgreSQL (Debian's packages, in the example's db image): deploy's
migrate_pre (database first, then migrations in a one-off container on the host) and migrate_post,
a failing migration that rolls back and stops the deploy, `migrate plan|run`, edited-file detection,
and the build-machine runner (psql here) against a PostgreSQL container on this machine."""

from __future__ import annotations

import json
import socket
import subprocess
import time

import pytest
import yaml

from tests.hosts import ROOT

pytestmark = pytest.mark.hosts
EXAMPLE = ROOT / "examples" / "shop"
PASSWORD = "mig-canary-5e1f0a77"


def config(project: str) -> dict:
    return {
        "version": 1, "project": {"name": project},
        "environments": {"local": {"driver": "local", "env_file": ".env.local",
                                   "hosts": {"db-1": {"roles": ["data", "app"]}}}},
        "roles": {"data": {"services": ["db"]}, "app": {"services": ["web"]}},
        "services": {"web": {"port": 8080, "rollout": {"strategy": "rolling", "healthcheck_timeout": 30}},
                     "db": {"rollout": {"strategy": "recreate", "healthcheck_timeout": 60},
                            "secrets": ["SHOP_DB_PASSWORD"]}},
        "databases": {
            "main": {"connection_env": "SHOP_DATABASE_URL", "service": "db",
                     "migrations": {"engine": "raw", "path": "db/migrations", "strategy": "pre_deploy",
                                    "run_in": "db"}},
            "reports": {"connection_env": "SHOP_DATABASE_URL", "service": "db",
                        "migrations": {"engine": "raw", "path": "db/reports", "strategy": "post_deploy",
                                       "run_in": "db", "raw": {"table": "reports_migrations"}}},
        },
    }


@pytest.fixture(scope="module")
def shop(local_hosts):
    files = {rel: (EXAMPLE / rel).read_text() for rel in (
        "docker-compose.yml", "web/Dockerfile", "web/start.sh", "db/Dockerfile", "db/entrypoint.sh",
        "db/migrations/001_orders.sql", "db/migrations/002_order_status.sql")}
    files["db/reports/001_daily.sql"] = "CREATE VIEW daily_orders AS SELECT date(created_at) AS day, count(*) " \
                                        "FROM orders GROUP BY 1;\n"
    files[".env.local"] = (f"SHOP_DB_PASSWORD={PASSWORD}\n"
                           "SHOP_DATABASE_URL=postgresql://shop:${SHOP_DB_PASSWORD}@db:5432/shop\n")
    env = local_hosts.create("migrate", {"db-1": ["data", "app"]}, files=files, up=False)
    env.config_path.write_text(yaml.safe_dump(config(env.project), sort_keys=False))
    env.up()
    return env


def sql(env, query: str) -> str:
    """A query through psql inside the running database container on db-1."""
    cid = env.ssh("db-1", f"docker ps -q --filter label=com.docker.compose.project={env.project} "
                          "--filter label=com.docker.compose.service=db").stdout.split()[0]
    return env.ssh("db-1", f"docker exec {cid} psql -X -At -U shop -d shop -c \"{query}\"").stdout.strip()


def release(env, rid: str) -> dict:
    return json.loads(env.cli("releases", "show", rid, "-o", "json").stdout)


def phases(rel: dict) -> dict:
    return {p["name"]: p["status"] for p in rel["phases"]}


def latest(env) -> dict:
    rows = json.loads(env.cli("releases", "list", "-o", "json").stdout)
    rows = rows["releases"] if isinstance(rows, dict) else rows
    return release(env, rows[0]["id"])


def test_plan_before_any_deploy_says_to_deploy_first(shop):
    proc = shop.cli("migrate", "plan", "-e", "local", check=False)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "nothing deployed on db-1 yet" in proc.stderr and "Traceback" not in proc.stderr


def test_first_deploy_starts_the_database_then_migrates_before_and_after_the_rollout(shop):
    data = json.loads(shop.cli("deploy", "-e", "local", "--version", "v1", "-o", "json").stdout)
    rel = release(shop, data["release"])
    assert phases(rel)["migrate_pre"] == "completed" and phases(rel)["migrate_post"] == "completed"
    assert rel["manifest"]["migrate_pre"][0]["applied"] == ["001_orders.sql", "002_order_status.sql"]
    assert rel["manifest"]["migrate_post"][0]["applied"] == ["001_daily.sql"]
    assert sql(shop, "SELECT name FROM stagecraft_migrations ORDER BY name").splitlines() == [
        "001_orders.sql", "002_order_status.sql"]
    assert sql(shop, "SELECT column_name FROM information_schema.columns WHERE table_name='orders' "
                     "AND column_name='status'") == "status"
    assert sql(shop, "SELECT count(*) FROM reports_migrations") == "1"
    # Post-deploy migrations ran after the rollout (their view exists) and the app runs v1.
    assert sql(shop, "SELECT to_regclass('daily_orders') IS NOT NULL") == "t"
    assert "web:v1" in shop.ssh("db-1", "docker ps --format '{{.Image}}'").stdout


def test_redeploy_applies_nothing_and_keeps_the_database_running(shop):
    before = sql(shop, "SELECT pg_postmaster_start_time()")
    data = json.loads(shop.cli("deploy", "-e", "local", "--version", "v2", "-o", "json").stdout)
    rel = release(shop, data["release"])
    assert rel["manifest"]["migrate_pre"][0]["applied"] == []
    assert rel["manifest"]["migrate_pre"][0]["pending_before"] == []
    assert sql(shop, "SELECT pg_postmaster_start_time()") == before  # fixed db image tag: not restarted


def test_failing_migration_rolls_back_and_stops_the_deploy(shop):
    bad = shop.project_dir / "db" / "migrations" / "003_broken.sql"
    bad.write_text("CREATE TABLE half_done (id int);\nSELECT no_such_column FROM orders;\n")
    try:
        proc = shop.cli("deploy", "-e", "local", "--version", "v3", check=False)
        assert proc.returncode == 2, proc.stdout + proc.stderr
        assert "migration 003_broken.sql" in proc.stderr and "no_such_column" in proc.stderr
        assert "Traceback" not in proc.stderr
        rel = latest(shop)
        assert phases(rel)["migrate_pre"] == "failed" and phases(rel)["rollout"] == "skipped"
        assert rel["status"] == "failed"
        # One transaction per file: nothing of 003 stayed, and the app still runs the previous version.
        assert sql(shop, "SELECT to_regclass('half_done') IS NULL") == "t"
        assert sql(shop, "SELECT count(*) FROM stagecraft_migrations") == "2"
        assert "web:v2" in shop.ssh("db-1", "docker ps --format '{{.Image}}'").stdout
    finally:
        bad.unlink()


def test_migrate_plan_and_run(shop):
    new = shop.project_dir / "db" / "migrations" / "003_customers.sql"
    new.write_text("CREATE TABLE customers (id bigserial PRIMARY KEY, name text NOT NULL);\n")
    plan = json.loads(shop.cli("migrate", "plan", "-e", "local", "-o", "json").stdout)
    main = next(d for d in plan["databases"] if d["database"] == "main")
    assert main["pending"] == ["003_customers.sql"] and main["applied"] == ["001_orders.sql", "002_order_status.sql"]
    whole = json.loads(shop.cli("plan", "-e", "local", "--version", "v2", "-o", "json").stdout)
    assert next(m for m in whole["migrations"] if m["database"] == "main")["pending"] == ["003_customers.sql"]
    dry = json.loads(shop.cli("migrate", "run", "-e", "local", "--database", "main", "--dry-run", "-o", "json").stdout)
    assert dry["databases"][0]["pending_before"] == ["003_customers.sql"]
    assert sql(shop, "SELECT to_regclass('customers') IS NULL") == "t"
    ran = json.loads(shop.cli("migrate", "run", "-e", "local", "--database", "main", "-o", "json").stdout)
    assert ran["databases"][0]["applied"] == ["003_customers.sql"]
    assert sql(shop, "SELECT to_regclass('customers') IS NOT NULL") == "t"
    assert phases(release(shop, ran["release"])) == {"migrate": "completed"}


def test_an_edited_applied_migration_is_an_error(shop):
    path = shop.project_dir / "db" / "migrations" / "001_orders.sql"
    original = path.read_text()
    path.write_text(original + "-- edited\n")
    try:
        proc = shop.cli("migrate", "plan", "-e", "local", check=False)
        assert proc.returncode == 1 and "001_orders.sql" in proc.stdout + proc.stderr
        proc = shop.cli("deploy", "-e", "local", "--version", "v4", check=False)
        assert proc.returncode == 1, proc.stdout + proc.stderr
        assert "001_orders.sql" in proc.stderr and "changed after" in proc.stderr
        assert phases(latest(shop))["rollout"] == "skipped"
    finally:
        path.write_text(original)


def test_the_password_never_leaves_the_env_file(shop):
    seen = [shop.cli("migrate", "plan", "-e", "local").stdout]
    for path in shop.state_dir.rglob("*"):
        if path.is_file() and "ssh" not in path.parts:
            assert PASSWORD.encode() not in path.read_bytes(), path
    assert all(PASSWORD not in text for text in seen)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_build_machine_runner_with_psql_here(shop):
    """Without migrations.run_in, psql runs on this machine: here against the same PostgreSQL image
    started on this machine's Docker, reachable on a loopback port."""
    port = free_port()
    name = f"{shop.project}-localpg"
    image = "shop-db:17"  # built by the deploys above
    subprocess.run(["docker", "run", "-d", "--name", name, "--label", f"stagecraft.project={shop.project}",
                    "-e", "POSTGRES_USER=shop", "-e", f"POSTGRES_PASSWORD={PASSWORD}", "-e", "POSTGRES_DB=shop",
                    "-p", f"127.0.0.1:{port}:5432", image], check=True, capture_output=True)
    try:
        for _ in range(60):
            if subprocess.run(["docker", "exec", name, "/usr/local/lib/pgbin/pg_isready", "-h", "127.0.0.1"],
                              capture_output=True).returncode == 0:
                break
            time.sleep(1)
        data = yaml.safe_load(shop.config_path.read_text())
        data["databases"]["here"] = {"connection_env": "HERE_DATABASE_URL",
                                     "migrations": {"engine": "raw", "path": "db/migrations", "strategy": "manual"}}
        shop.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
        url = {"HERE_DATABASE_URL": f"postgresql://shop:{PASSWORD}@127.0.0.1:{port}/shop"}
        ran = shop.cli("migrate", "run", "-e", "local", "--database", "here", "-o", "json", env=url)
        files = sorted(p.name for p in (shop.project_dir / "db" / "migrations").glob("*.sql"))
        assert json.loads(ran.stdout)["databases"][0]["applied"] == files and len(files) >= 2
        assert json.loads(ran.stdout)["databases"][0]["runner"] == "this machine"
        assert PASSWORD not in ran.stdout + ran.stderr
        again = json.loads(shop.cli("migrate", "plan", "-e", "local", "--database", "here", "-o", "json",
                                    env=url).stdout)
        assert again["databases"][0]["pending"] == [] and again["databases"][0]["strategy"] == "manual"
        # A wrong password is an external failure (exit 2) that does not echo the URL.
        bad = shop.cli("migrate", "plan", "-e", "local", "--database", "here", check=False,
                       env={"HERE_DATABASE_URL": f"postgresql://shop:wrong-{PASSWORD}@127.0.0.1:{port}/shop"})
        assert bad.returncode == 2 and "password authentication failed" in bad.stderr
        assert PASSWORD not in bad.stdout + bad.stderr
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
        data = yaml.safe_load(shop.config_path.read_text())
        data["databases"].pop("here", None)
        shop.config_path.write_text(yaml.safe_dump(data, sort_keys=False))
