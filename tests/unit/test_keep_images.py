"""A new tag of the same image restarts no stateful service: a host whose `recreate` containers run the
image a deploy built (same image ID, older tag) keeps that tag in its compose file, so the file, its
hash and Compose's config hash stay as they were."""

from __future__ import annotations

import shutil
from pathlib import Path

import yaml

from stagecraft.commands.host_state import SEPARATOR, Container, HostState, kept_refs, parse_probe
from stagecraft.config import load_config
from stagecraft.deploy.render import compose_of, render_all

FIXTURE = Path(__file__).resolve().parents[1] / "fixtures" / "multi"
API_V1, API_V2 = "registry.example.com/acme/api:v1", "registry.example.com/acme/api:v2"


def plans(tmp_path, version: str, strategy: str = "recreate") -> dict:
    """The fixture's plans, with api (built here) rolled out with `strategy`."""
    dest = tmp_path / "multi"
    if not dest.exists():
        shutil.copytree(FIXTURE, dest)
    data = yaml.safe_load((dest / "stagecraft.yml").read_text())
    data["services"]["api"]["rollout"] = {"strategy": strategy}
    (dest / "stagecraft.yml").write_text(yaml.safe_dump(data))
    resolved = load_config(dest / "stagecraft.yml").resolve("staging", environ={})
    compose, _ = compose_of(resolved.config)
    return render_all(resolved.config, resolved.environment, {h.name: h.address for h in resolved.environment.hosts},
                      compose, version, "stagecraft/edge:x", [])


def running(ref: str, image_id: str, n: int = 2, on_host: dict | None = None) -> HostState:
    return HostState(image_ids={ref: image_id, **(on_host or {})},
                     containers=[Container("api", image_id, "running", "healthy", ref) for _ in range(n)])


def test_same_image_under_a_new_tag_keeps_the_running_tag(tmp_path):
    v2 = plans(tmp_path, "v2")["web-1"]
    assert kept_refs(v2, running(API_V1, "sha256:a"), {API_V2: "sha256:a"}) == {"api": API_V1}


def test_a_new_image_or_any_doubt_keeps_nothing(tmp_path):
    v2 = plans(tmp_path, "v2")["web-1"]
    same = {API_V2: "sha256:a"}
    cases = {
        "rebuilt: another image ID": (running(API_V1, "sha256:old"), same),
        "not built here": (running(API_V1, "sha256:a"), {}),
        "nothing runs yet": (HostState(), same),
        "the old tag names another image now": (running(API_V1, "sha256:a", on_host={API_V1: "sha256:b"}), same),
        "containers of two tags": (HostState(image_ids={API_V1: "sha256:a", "x:1": "sha256:a"}, containers=[
            Container("api", "sha256:a", "running", "healthy", API_V1),
            Container("api", "sha256:a", "running", "healthy", "x:1")]), same),
        "one container runs another image": (HostState(image_ids={API_V1: "sha256:a"}, containers=[
            Container("api", "sha256:a", "running", "healthy", API_V1),
            Container("api", "sha256:z", "running", "healthy", API_V1)]), same),
        "already the new tag": (running(API_V2, "sha256:a"), same),
    }
    for why, (state, local) in cases.items():
        assert kept_refs(v2, state, local) == {}, why
    # A rolling service is replaced without downtime anyway: it shows the release's tag.
    rolling = plans(tmp_path, "v2", strategy="rolling")["web-1"]
    assert kept_refs(rolling, running(API_V1, "sha256:a"), same) == {}


def test_kept_tag_renders_the_file_the_host_already_has(tmp_path):
    v1, v2 = plans(tmp_path, "v1")["web-1"], plans(tmp_path, "v2")["web-1"]
    # web and api both rebuilt to identical images, both tags kept: the file stays byte for byte the same.
    kept = v2.with_images({"api": API_V1, "web": v1.images["web"]})
    assert kept.definition == v1.definition and kept.hash == v1.hash
    assert kept.images["api"] == API_V1 and kept.image_refs == v1.image_refs
    # Only api kept: web still moves to v2, the rest of the plan is untouched.
    only = v2.with_images({"api": API_V1})
    web = yaml.safe_load(only.definition)["services"]["web"]
    assert web["image"].endswith("web:v2") and only.hash not in (v1.hash, v2.hash)
    assert only.services == v2.services and only.edge_config == v2.edge_config
    assert v2.with_images({}) is v2


def test_probe_reads_each_containers_ref_and_what_it_names():
    out = (f"h1\n{SEPARATOR}\nabc\n{SEPARATOR}\n{API_V2} sha256:a\n{API_V1} sha256:a\n{SEPARATOR}\n"
           f"api sha256:a running healthy {API_V1}\n{SEPARATOR}\nloaded\n{SEPARATOR}\n{SEPARATOR}\n")  # no shared edge
    st = parse_probe(out)
    assert st.containers == [Container("api", "sha256:a", "running", "healthy", API_V1)]
    assert st.image_ids == {API_V2: "sha256:a", API_V1: "sha256:a"}
