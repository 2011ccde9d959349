"""The rollout phase: hosts in role order, each group through the deploy playbook.

Extension points (kept small so crash-safety work can wrap them):
- `roll_batch`       one group of hosts through the playbook; returns the per-host outcome
- `on_failed_batch`  called when a batch fails, before the error ends the deploy
"""

from __future__ import annotations

from ..runner import RunFailed, check_stop, run_playbook
from .batches import batch_size, rollout_batches

SKIPPED = "skipped: the host already runs this release"


def unchanged_outcome(desired: dict, unchanged: set[str], limit: list[str] | None) -> dict:
    """The outcome of hosts left alone because they already run their desired state."""
    return {h: {"services": {n: {"result": "unchanged"} for n in desired[h].service_names},
                "compose_hash": desired[h].hash, "rollout": SKIPPED}
            for h in sorted(unchanged) if h in desired and (not limit or h in limit)}


def roll(session, rel, desired: dict, inventory, targets: list[str] | None, stage: str = "all",
         unchanged: set[str] = frozenset()) -> dict:
    """stage 'all' rolls every service; 'data' only updates the stateful ones (before pre-deploy migrations).
    Hosts in `unchanged` already run their desired state: no Ansible run, their outcome says so."""
    env = session.environment
    hosts = [h for h in (targets or [h.name for h in env.hosts]) if h not in unchanged]
    outcome = unchanged_outcome(desired, unchanged, targets)
    if unchanged and stage == "all":
        session.say(f"unchanged, not rolled: {', '.join(sorted(unchanged))}")
    for _order, batch in rollout_batches(session.config, env, hosts):
        check_stop()  # Ctrl-C once: the batch in flight finished its step; stop before the next one
        try:
            done = roll_batch(session, rel, inventory, batch, stage, desired)
            outcome.update(done)
            for line in slow_stops(done):
                session.warn(line)
        except RunFailed as failure:
            run = failure.result
            completed = sorted(set(outcome) | set(((run.artifact_data or {}).get("rollout") or {})))
            reached = sorted(set(completed) | set(run.hosts))
            on_failed_batch(session, rel, desired, reached, completed, failure)
            raise
    return outcome


def slow_stops(outcome: dict) -> list[str]:
    """What made a rollout wait: old containers that ignored their stop signal until the stop timeout
    killed them (the compose_rollout module's `slow_stop`), one line per host and service."""
    lines = []
    for host, entry in sorted(outcome.items()):
        for name, result in sorted(((entry or {}).get("services") or {}).items()):
            slow = (result or {}).get("slow_stop") if isinstance(result, dict) else None
            if slow:
                where = ("its compose stop_grace_period" if slow.get("source") == "stop_grace_period"
                         else f"services.{name}.rollout.stop_timeout")
                lines.append(f"{host}: {name}: {len(slow['containers'])} old container(s) ignored the stop signal and "
                             f"were killed after {slow['seconds']}s ({where}); make its PID 1 exit on SIGTERM "
                             "(e.g. exec the server, or init: true) or lower the timeout to speed up deploys")
    return lines


def roll_batch(session, rel, inventory, hosts: list[str], stage: str, desired: dict) -> dict:
    """One group of hosts (same rollout order) through deploy.yml; the playbook itself rolls them
    `stagecraft_batch_size` at a time. Returns host -> outcome recorded by the compose role."""
    from ..commands import dotenv

    # Each host's .env text goes to the compose role with the secrets, from memory (never a file here).
    env_files = {dotenv.served_name(h): dotenv.render(desired[h].secret_names, session.envvars)
                 for h in hosts}
    env_files.update(edge_tls_secrets(session.config, desired, hosts))
    result = run_playbook(session.ctx, "deploy.yml", inventory=inventory.document, release=rel,
                          phase="rollout" if stage == "all" else "migrate_pre", envvars={**session.envvars, **env_files},
                          extravars={"stagecraft_deploy_hosts": ",".join(hosts), "compose_stage": stage,
                                     "stagecraft_batch_size": batch_size(session.environment, len(hosts))},
                          verbosity=session.verbosity, display_mode="quiet" if session.quiet else "auto",
                          title=f"{'rollout' if stage == 'all' else 'stateful services'}: {', '.join(hosts)}")
    return (result.artifact_data or {}).get("rollout") or {}


def edge_tls_secrets(config, desired: dict, hosts: list[str]) -> dict:
    """Supplied certificates and keys (public.tls files) per host, served like the .env: from memory."""
    import json

    from ..commands.compose_render import edge_tls_payload

    out = {}
    for h in hosts:
        files = edge_tls_payload(config, desired[h]) if h in desired else []
        if files:
            out[f"edge_tls/{h}"] = json.dumps(files)
    return out


def on_failed_batch(session, rel, desired: dict, reached: list[str], completed: list[str], failure: RunFailed) -> None:
    """A batch failed. In a deploy (session.put_back), the hosts the run reached go back to the previous
    release's compose files and images (deploy.revert; with --keep-partial, completed batches stay on the
    new version); the failure's message then says which host runs what (exit 2, or 10 when hosts are
    left on different releases)."""
    from ..errors import PARTIAL_FAILURE

    if not session.put_back:
        return
    done = put_back(session, rel, reached, completed, session.keep_partial)
    failure.message = f"{failure.message}\n{done.describe(new_version(session))}"
    failure.args = (failure.message,)
    if done.mixed and not done.error:
        failure.exit_code = PARTIAL_FAILURE


def new_version(session) -> str:
    from .envvars import IMAGE_TAG

    return session.envvars.get(IMAGE_TAG, "")


def put_back(session, rel, reached: list[str], completed: list[str], keep_partial: bool):
    """Roll `reached` back to the previous completed release (deploy.revert.put_back with this deploy's own
    rollout) and record who runs what in the release's manifest as `put_back`; returns revert.Reverted."""
    from dataclasses import replace

    from . import revert
    from .envvars import IMAGE_TAG

    version = new_version(session)

    def roll_back(plans: dict, hosts: list[str], old_version: str) -> None:
        old = replace(session, envvars={**session.envvars, IMAGE_TAG: old_version}, put_back=False, limit=hosts)
        roll(old, rel, plans, old.inventory(plans), hosts)

    done = revert.put_back(rel.store, session.environment.name, rel.id, version, reached, completed,
                           keep_partial, roll_back)
    rel.update_manifest({"put_back": {"to": done.previous.id if done.previous else None, "hosts": done.hosts,
                                      "error": done.error}})
    return done
