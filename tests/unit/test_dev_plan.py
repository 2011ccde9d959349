"""`stagecraft dev`: the plan (generated files, processes) and the hosts-file block, without running anything."""

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import yaml

from stagecraft.config import load_config
from stagecraft.dev import hosts
from stagecraft.dev.plan import Options, build_plan

ROOT = Path(__file__).resolve().parents[2]
SHOP = ROOT / "examples" / "shop"


def cli(*args, cwd, env=None):
    return subprocess.run([sys.executable, "-m", "stagecraft", *args], cwd=cwd, capture_output=True, text=True,
                          env={**os.environ, **(env or {})})


def project(tmp_path, config: dict, compose: dict | None = None) -> Path:
    (tmp_path / "stagecraft.yml").write_text(yaml.safe_dump(config))
    if compose is not None:
        (tmp_path / "docker-compose.yml").write_text(yaml.safe_dump(compose))
    return tmp_path


BASE = {"version": 1, "project": {"name": "demo"}, "environments": {"local": {"driver": "local"}}}


def test_shop_plan_routes_both_dev_servers_and_keeps_only_the_database_in_compose():
    loaded = load_config(SHOP / "stagecraft.yml")
    plan = build_plan(loaded.config, SHOP, {}, Options(http_port=8080, https_port=8443))
    assert plan.domains == {"backend": "api.shop.localhost", "frontend": "app.shop.localhost"}
    assert plan.urls == {"backend": "https://api.shop.localhost:8443", "frontend": "https://app.shop.localhost:8443"}
    assert [p.name for p in plan.processes] == ["backend", "frontend", "proxy"]
    assert plan.infra_services == ("db",)
    compose = yaml.safe_load(plan.files["compose.yaml"])
    assert list(compose["services"]) == ["db"]  # web is replaced by the backend dev process
    db = compose["services"]["db"]
    assert db["ports"] == ["127.0.0.1:5433:5432"]
    assert db["build"] == "./db" and db["environment"]["POSTGRES_PASSWORD"] == "${SHOP_DB_PASSWORD}"
    assert db["labels"] == {"stagecraft.dev": "shop"}
    dynamic = yaml.safe_load(plan.files["traefik/dynamic.yaml"])
    assert dynamic["http"]["routers"]["frontend"]["rule"] == "Host(`app.shop.localhost`)"
    assert dynamic["http"]["services"]["backend"]["loadBalancer"]["servers"] == [{"url": "http://127.0.0.1:4000"}]
    assert dynamic["tls"]["certificates"] == [{"certFile": "certs/dev.pem", "keyFile": "certs/dev-key.pem"}]
    static = yaml.safe_load(plan.files["traefik/traefik.yaml"])
    assert static["entryPoints"] == {"web": {"address": "127.0.0.1:8080"}, "websecure": {"address": "127.0.0.1:8443"}}
    backend = plan.processes[0]
    assert backend.env["STAGECRAFT_DEV_FRONTEND_URL"] == "https://app.shop.localhost:8443"
    assert backend.stop_signal == signal.SIGINT and backend.stop_timeout == 10.0


def test_generated_files_are_deterministic():
    loaded = load_config(SHOP / "stagecraft.yml")
    one = build_plan(loaded.config, SHOP, {}, Options()).files
    two = build_plan(load_config(SHOP / "stagecraft.yml").config, SHOP, {"X": "y"}, Options()).files
    assert one == two
    assert sorted(one) == ["compose.yaml", "traefik/dynamic.yaml", "traefik/traefik.yaml"]


def test_no_https_serves_http_only_on_the_default_port():
    loaded = load_config(SHOP / "stagecraft.yml")
    plan = build_plan(loaded.config, SHOP, {}, Options(https=False))
    assert plan.urls["frontend"] == "http://app.shop.localhost"
    dynamic = yaml.safe_load(plan.files["traefik/dynamic.yaml"])
    assert "tls" not in dynamic and set(dynamic["http"]["routers"]) == {"backend-http", "frontend-http"}
    assert "websecure" not in yaml.safe_load(plan.files["traefik/traefik.yaml"])["entryPoints"]


def test_configured_domains_ports_and_shutdown(tmp_path):
    config = {**BASE, "frontend": {"provider": "generic", "generic": {"dev": {
        "command": ["npm", "run", "dev"], "workdir": "web", "env": {"PORT": "5173"},
        "shutdown": {"signal": "SIGTERM", "timeout_ms": 2500}}}},
        "dev": {"domains": {"frontend": "shop.test"}, "proxy": {"https_port": 9443}}}
    path = project(tmp_path, config)
    plan = build_plan(load_config(path / "stagecraft.yml").config, path, {}, Options())
    front = plan.processes[0]
    assert (front.port, front.stop_signal, front.stop_timeout) == (5173, signal.SIGTERM, 2.5)
    assert front.cwd == str(path / "web")
    assert plan.urls == {"frontend": "https://shop.test:9443"}


def test_encore_backend_syncs_secrets_through_stdin_then_runs_with_watch(tmp_path):
    (tmp_path / "api").mkdir()
    (tmp_path / "api" / ".env.local").write_text("STRIPE_KEY=sk_from_file\n")
    config = {**BASE, "backend": {"provider": "encore-ts", "encore-ts": {"dev": {
        "listen": "127.0.0.1:4100", "workdir": "api", "env_file": ".env.local", "disable_telemetry": True,
        "secrets": {"from_env": ["STRIPE_KEY", "MISSING_ONE"]}}}}}
    path = project(tmp_path, config)
    plan = build_plan(load_config(path / "stagecraft.yml").config, path, {}, Options())
    api = plan.processes[0]
    assert api.argv == ("encore", "run", "--watch", "--listen=127.0.0.1:4100") and api.port == 4100
    assert api.env["DISABLE_ENCORE_TELEMETRY"] == "1"
    assert [s.argv for s in api.secrets] == [("encore", "secret", "set", "--type", "dev,preview,local", "STRIPE_KEY"),
                                              ("encore", "secret", "set", "--type", "dev,preview,local", "MISSING_ONE")]
    assert "sk_from_file" not in json.dumps(plan.describe())  # values never shown


def test_a_dev_server_without_a_port_needs_one_for_the_proxy(tmp_path):
    config = {**BASE, "frontend": {"provider": "generic", "generic": {"dev": {"command": ["serve"]}}}}
    path = project(tmp_path, config)
    proc = cli("dev", "--dry-run", cwd=path)
    assert proc.returncode == 1
    assert "error: dev: frontend: the proxy needs the port" in proc.stderr and "Traceback" not in proc.stderr


def test_dry_run_shows_the_files_and_writes_nothing(tmp_path):
    existed = (SHOP / ".stagecraft" / "dev").exists()
    proc = cli("dev", "--dry-run", "--https-port", "8443", cwd=SHOP, env={"SHOP_DB_PASSWORD": "x"})
    assert proc.returncode == 0, proc.stderr
    assert "--- .stagecraft/dev/compose.yaml" in proc.stdout and "Host(`app.shop.localhost`)" in proc.stdout
    assert "https://app.shop.localhost:8443" in proc.stdout
    data = json.loads(cli("dev", "--dry-run", "-o", "json", cwd=SHOP).stdout)
    assert sorted(data["files"]) == [".stagecraft/dev/compose.yaml", ".stagecraft/dev/traefik/dynamic.yaml",
                                     ".stagecraft/dev/traefik/traefik.yaml"]
    assert (SHOP / ".stagecraft" / "dev").exists() == existed


def test_missing_dev_env_file_is_an_error_naming_it(tmp_path):
    path = project(tmp_path, {**BASE, "dev": {"env_file": ".env.dev"}})
    proc = cli("dev", "--no-hosts", cwd=path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: dev: dev.env_file: file not found:") and ".env.dev" in proc.stderr


def test_unknown_dev_key_is_a_config_error(tmp_path):
    path = project(tmp_path, {**BASE, "dev": {"domain": {"frontend": "x"}}})
    proc = cli("config", "validate", cwd=path)
    assert proc.returncode == 1 and "dev.domain: unknown key 'domain' (did you mean 'domains'?)" in proc.stderr
    proc = cli("dev", cwd=path)
    assert proc.returncode == 1 and proc.stderr.startswith("error: dev: invalid configuration")


def test_hosts_block_is_added_replaced_and_removed_without_touching_other_lines(tmp_path, monkeypatch):
    path = tmp_path / "hosts"
    path.write_text("127.0.0.1 localhost\n::1 localhost\n")
    monkeypatch.setenv(hosts.HOSTS_ENV, str(path))
    hosts.add("shop", ["app.shop.localhost", "api.shop.localhost"])
    hosts.add("shop", ["app.shop.localhost", "api.shop.localhost"])  # idempotent
    hosts.add("other", ["app.other.localhost"])
    text = path.read_text()
    assert text.count("# >>> stagecraft dev shop >>>") == 1
    assert "127.0.0.1\tapi.shop.localhost app.shop.localhost\n" in text
    hosts.remove("shop")
    assert path.read_text() == ("127.0.0.1 localhost\n::1 localhost\n# >>> stagecraft dev other >>>\n"
                                "127.0.0.1\tapp.other.localhost\n# <<< stagecraft dev other <<<\n")
    hosts.remove("other")
    assert path.read_text() == "127.0.0.1 localhost\n::1 localhost\n"


def test_dev_services_must_exist_in_the_compose_file(tmp_path):
    path = project(tmp_path, {**BASE, "dev": {"publish": {"dbb": ["5433:5432"]}, "services": ["cache"]}},
                   {"services": {"db": {"image": "x"}}})
    proc = cli("config", "validate", cwd=path)
    assert proc.returncode == 1
    assert "dev.publish.dbb: unknown compose service 'dbb' (did you mean 'db'?)" in proc.stderr
    assert "unknown compose service 'cache'" in proc.stderr


def test_extra_routes_get_a_router_a_certificate_name_and_a_hosts_entry(tmp_path):
    config = {**BASE, "frontend": {"provider": "generic", "generic": {"dev": {"command": ["serve"], "port": 3000}}},
              "dev": {"routes": {"pgweb.demo.localhost": 8081}}}
    path = project(tmp_path, config)
    plan = build_plan(load_config(path / "stagecraft.yml").config, path, {}, Options())
    assert plan.hosts_names == ["app.demo.localhost", "pgweb.demo.localhost"]
    assert plan.urls["pgweb.demo.localhost"] == "https://pgweb.demo.localhost"
    dynamic = yaml.safe_load(plan.files["traefik/dynamic.yaml"])
    assert dynamic["http"]["routers"]["pgweb-demo-localhost"] == {
        "rule": "Host(`pgweb.demo.localhost`)", "entryPoints": ["websecure"], "service": "pgweb-demo-localhost",
        "tls": {}}
    assert dynamic["http"]["services"]["pgweb-demo-localhost"]["loadBalancer"]["servers"] == [
        {"url": "http://127.0.0.1:8081"}]
    assert build_plan(load_config(path / "stagecraft.yml").config, path, {}, Options(proxy=False)).hosts_names == []


def test_an_unknown_environment_is_a_dev_error(tmp_path):
    path = project(tmp_path, BASE)
    proc = cli("dev", "-e", "locl", "--dry-run", cwd=path)
    assert proc.returncode == 1
    assert proc.stderr.startswith("error: dev: --env: unknown environment 'locl' (did you mean 'local'?)")
