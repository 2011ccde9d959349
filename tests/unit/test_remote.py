"""Day-2 scripts and their parsing: status output compared with a release, quoting of hostile names."""

from __future__ import annotations

import subprocess

from stagecraft.commands import remote

LINE = "\t".join


def test_parse_status_reads_containers_and_routes():
    out = (LINE(["web", "/shop-web-1", "shop/web:v2", "sha256:a", "running", "healthy", "2026-12-01T10:00:00Z", "0"])
           + "\n" + LINE(["web", "/shop-web-2", "shop/web:v2", "sha256:a", "running", "healthy", "2026-12-01T10:00:01Z", "3"])
           + "\n--stagecraft-routes--\nsvc_web\t172.18.0.5:8080 172.18.0.6:8080 \n")
    containers, routes = remote.parse_status(out)
    assert [c.name for c in containers] == ["shop-web-1", "shop-web-2"] and containers[1].restarts == 3
    assert routes == {"svc_web": ["172.18.0.5:8080", "172.18.0.6:8080"]}


def container(service="web", image="shop/web:v2", state="running", health="healthy", restarts=0):
    return remote.RunningContainer(service, f"{service}-x", image, "sha256:a", state, health, "t", restarts)


def test_compare_names_every_kind_of_difference():
    expected = {"web": {"image": "shop/web:v2", "replicas": 2}, "db": {"image": "db:1", "replicas": 1},
                "cache": {"image": "c:1", "replicas": 1}, "api": {"image": "api:v2", "replicas": 1}}
    running = [container(), container(), container("db", "db:1", health="unhealthy"),
               container("api", "api:v1"), container("stray", "x:1")]
    result = remote.compare(expected, running)
    assert result["web"]["state"] == "ok" and result["web"]["containers"] == 2
    assert result["db"]["state"] == "unhealthy"
    assert result["cache"]["state"] == "missing"
    assert result["api"]["state"] == "drifted" and "api:v1" in result["api"]["detail"]
    assert result["stray"]["state"] == "drifted" and result["stray"]["detail"] == "not in the release"
    assert remote.compare({"web": {"image": "shop/web:v2", "replicas": 2}}, [container()])["web"]["state"] == "drifted"


def test_scripts_are_valid_shell_and_quote_hostile_names():
    hostile = "x'; touch /tmp/pwned; echo '"
    for script in (remote.status_script(hostile),
                   remote.logs_script(hostile, hostile, follow=True, since="10m; rm -rf /", tail=5),
                   remote.exec_script(hostile, hostile, ["sh", "-c", "echo $HOME; id"], interactive=False, new=None),
                   remote.exec_script(hostile, hostile, ["ls"], interactive=True, new="img:v1")):
        assert subprocess.run(["sh", "-n"], input=script, text=True).returncode == 0, script
        assert "'x'\"'\"'; touch /tmp/pwned; echo '\"'\"''" in script or "img:v1" in script


def test_one_off_command_replaces_the_entrypoint():
    script = remote.exec_script("p", "web", ["/bin/busybox", "echo", "hi"], interactive=False, new="p/web:v2")
    assert "--entrypoint /bin/busybox p/web:v2 echo hi" in script
