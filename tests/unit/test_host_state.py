"""The no-op check: a host is left alone only when the probe shows exactly the planned release."""

from __future__ import annotations

import json

from stagecraft.commands.compose_render import HostDeploy
from stagecraft.commands.host_state import (FIREWALL_GUARD, SEPARATOR, Container, HostState, env_file_digest,
                                            firewall_findings, parse_probe, probe_script, unchanged_reason)

ROUTES = {"project": "shop", "listen": "internal", "routes": [{"service": "web", "hosts": [], "path": "/"}]}
PLAN = HostDeploy(host="app-1", definition="services: {}\n", hash="h1",
                  services=[{"name": "web", "replicas": 2}], images={"web": "shop/web:v1"},
                  edge_config=json.dumps(ROUTES), edge_image="stagecraft/edge:e", secret_names=["IMAGE_TAG", "TOKEN"])
IDS = {"shop/web:v1": "sha256:new", "stagecraft/edge:e": "sha256:edge"}
DIGEST = env_file_digest(["IMAGE_TAG", "TOKEN"], {"IMAGE_TAG": "v1", "TOKEN": "t"})


def state(**changes) -> HostState:
    base = dict(compose_hash="h1", env_digest=DIGEST, image_ids={"shop/web:v1": "sha256:new"},
                containers=[Container("web", "sha256:new", "running", "healthy"),
                            Container("web", "sha256:new", "running", "healthy"),
                            Container("stagecraft-edge", "sha256:edge", "running", "none")],
                edge_routes=ROUTES)
    base.update(changes)
    return HostState(**base)


def test_exact_match_is_unchanged():
    assert unchanged_reason(PLAN, state(), IDS, DIGEST) is None


def test_every_difference_means_a_rollout():
    web, edge = Container("web", "sha256:new", "running", "healthy"), Container("stagecraft-edge", "sha256:edge", "running", "none")
    cases = {
        "compose file differs": state(compose_hash="h0"),
        "last complete rollout": state(compose_hash=""),
        ".env differs": state(env_digest=env_file_digest(["IMAGE_TAG", "TOKEN"], {"IMAGE_TAG": "v1", "TOKEN": "x"})),
        "1 container(s), 2 expected": state(containers=[web, edge]),
        "not all containers are running and healthy": state(containers=[
            web, Container("web", "sha256:new", "running", "unhealthy"), edge]),
        "do not run shop/web:v1": state(containers=[web, Container("web", "sha256:old", "running", "healthy"), edge]),
        "unexpected container": state(containers=[web, web, edge, Container("worker", "x", "running", "none")]),
        "stagecraft-edge: 0 container(s)": state(containers=[web, web]),
        "stagecraft-edge: containers do not run": state(containers=[web, web, Container("stagecraft-edge", "sha256:old", "running", "none")]),
        "does not have this release's routes": state(edge_routes={**ROUTES, "routes": []}),
    }
    for expected, st in cases.items():
        reason = unchanged_reason(PLAN, st, IDS, DIGEST)
        assert reason and expected in reason, (expected, reason)


def test_probe_output_round_trip():
    out = (f"h1\n{SEPARATOR}\nabc\n{SEPARATOR}\nshop/web:v1 sha256:new\nother:1 \n{SEPARATOR}\n"
           f"web sha256:new running healthy\n{SEPARATOR}\nloaded\n{SEPARATOR}\nstagecraft-edge sha256:e running none\n"
           f"{SEPARATOR}\n{json.dumps({'routes': ROUTES, 'upstreams': {}})}\n")
    st = parse_probe(out)
    assert st.compose_hash == "h1" and st.env_digest == "abc" and st.firewall == "loaded"
    assert st.image_ids == {"shop/web:v1": "sha256:new", "other:1": ""}
    assert st.containers[1] == Container("stagecraft-edge", "sha256:e", "running", "none")
    assert st.edge_routes == ROUTES
    assert parse_probe("garbage") == HostState()  # unreadable: never counts as unchanged
    assert unchanged_reason(PLAN, HostState(), IDS, DIGEST)


def test_probe_script_quotes_refs_and_reads_the_project_dir():
    script = probe_script("shop", ["shop/web:v1", "odd'ref"])
    assert "/srv/stagecraft/shop/compose.sha256" in script and "/srv/stagecraft/shop/.env" in script
    assert "'odd'\"'\"'ref'" in script


def test_probe_checks_the_firewall_through_the_roles_guard():
    script = probe_script("shop", [])
    assert f"{FIREWALL_GUARD} check" in script and f"sudo -n {FIREWALL_GUARD} check" in script
    base, end = f"h1\n{SEPARATOR}\nabc\n{SEPARATOR}\n{SEPARATOR}\n{SEPARATOR}\n", f"{SEPARATOR}\n{SEPARATOR}\n"
    assert parse_probe(base + "loaded\n" + end).firewall == "loaded"
    assert parse_probe(base + "Error: x\nrestored\n" + end).firewall == "restored"
    assert parse_probe(base + "sudo: a password is required\n" + end).firewall == "failed: sudo: a password is required"
    assert parse_probe(base + end).firewall == "failed: no answer"


def test_firewall_findings_warn_on_a_restore_and_fail_when_it_could_not():
    states = {"a": HostState(firewall="loaded"), "b": HostState(firewall="restored"),
              "c": HostState(firewall="absent"), "d": HostState(firewall="failed: nft -f x: denied"),
              "e": HostState(firewall="absent")}
    warnings, errors = firewall_findings(states, {"e": False})
    assert warnings == ["b: the firewall rules were not loaded; restored them "
                        "(was nftables restarted or the ruleset flushed?)",
                        "c: the firewall role is not set up; run 'stagecraft infra up'"]
    assert len(errors) == 1 and errors[0].startswith("d: the firewall rules are not loaded and could not be "
                                                     "restored (nft -f x: denied)")


def test_a_host_without_routes_of_this_project_ignores_the_shared_edge_of_others():
    plan = HostDeploy(host="db-1", definition="services: {}\n", hash="h1", services=[{"name": "web", "replicas": 2}],
                      images={"web": "shop/web:v1"}, secret_names=["IMAGE_TAG", "TOKEN"])
    assert unchanged_reason(plan, state(edge_routes=None), IDS, DIGEST) is None
    assert "still has routes" in unchanged_reason(plan, state(), IDS, DIGEST)
