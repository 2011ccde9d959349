"""The no-op check: a host is left alone only when the probe shows exactly the planned release."""

from __future__ import annotations

from stagecraft.commands.compose_render import HostDeploy
from stagecraft.commands.host_state import (SEPARATOR, Container, HostState, env_file_digest, parse_probe,
                                            probe_script, unchanged_reason)

PLAN = HostDeploy(host="app-1", definition="services: {}\n", hash="h1",
                  services=[{"name": "web", "replicas": 2}], images={"web": "shop/web:v1"},
                  edge_config="nginx", secret_names=["IMAGE_TAG", "TOKEN"])
IDS = {"shop/web:v1": "sha256:new"}
DIGEST = env_file_digest(["IMAGE_TAG", "TOKEN"], {"IMAGE_TAG": "v1", "TOKEN": "t"})


def state(**changes) -> HostState:
    base = dict(compose_hash="h1", env_digest=DIGEST, image_ids={"shop/web:v1": "sha256:new"},
                containers=[Container("web", "sha256:new", "running", "healthy"),
                            Container("web", "sha256:new", "running", "healthy"),
                            Container("stagecraft-edge", "sha256:edge", "running", "none")])
    base.update(changes)
    return HostState(**base)


def test_exact_match_is_unchanged():
    assert unchanged_reason(PLAN, state(), IDS, DIGEST) is None


def test_every_difference_means_a_rollout():
    web, edge = Container("web", "sha256:new", "running", "healthy"), Container("stagecraft-edge", "e", "running", "none")
    cases = {
        "compose file differs": state(compose_hash="h0"),
        "last complete rollout": state(compose_hash=""),
        ".env differs": state(env_digest=env_file_digest(["IMAGE_TAG", "TOKEN"], {"IMAGE_TAG": "v1", "TOKEN": "x"})),
        "1 container(s), 2 expected": state(containers=[web, edge]),
        "not all containers are running and healthy": state(containers=[
            web, Container("web", "sha256:new", "running", "unhealthy"), edge]),
        "do not run shop/web:v1": state(containers=[web, Container("web", "sha256:old", "running", "healthy"), edge]),
        "unexpected container": state(containers=[web, web, edge, Container("worker", "x", "running", "none")]),
    }
    for expected, st in cases.items():
        reason = unchanged_reason(PLAN, st, IDS, DIGEST)
        assert reason and expected in reason, (expected, reason)


def test_probe_output_round_trip():
    out = (f"h1\n{SEPARATOR}\nabc\n{SEPARATOR}\nshop/web:v1 sha256:new\nother:1 \n{SEPARATOR}\n"
           "web sha256:new running healthy\nstagecraft-edge sha256:e running none\n")
    st = parse_probe(out)
    assert st.compose_hash == "h1" and st.env_digest == "abc"
    assert st.image_ids == {"shop/web:v1": "sha256:new", "other:1": ""}
    assert st.containers[1] == Container("stagecraft-edge", "sha256:e", "running", "none")
    assert parse_probe("garbage") == HostState()  # unreadable: never counts as unchanged
    assert unchanged_reason(PLAN, HostState(), IDS, DIGEST)


def test_probe_script_quotes_refs_and_reads_the_project_dir():
    script = probe_script("shop", ["shop/web:v1", "odd'ref"])
    assert "/srv/stagecraft/shop/compose.sha256" in script and "/srv/stagecraft/shop/.env" in script
    assert "'odd'\"'\"'ref'" in script
