"""GitHub Actions: the workflow file, secrets through the REST API (sealed boxes), dispatch and follow runs."""

from __future__ import annotations

import secrets as _random
import time
from pathlib import Path

from ... import __version__
from ...errors import ExternalError
from .. import CiContext, CiProvider, Job, Run, Secret, Step
from .. import secrets as ci_secrets
from . import api, workflow

FIND_RUN_ATTEMPTS = 24  # polls for a dispatched run when the server does not return its id


class GitHubProvider(CiProvider):
    name = "github"

    def __init__(self, *, poll_interval: float = 5.0, sleep=time.sleep):
        self.poll_interval = poll_interval
        self.sleep = sleep
        self._clients: dict[str, api.Client] = {}

    # ---- init -------------------------------------------------------------------------------------------
    def workflow_path(self, ctx: CiContext) -> Path:
        return ctx.repo_root / ctx.ci.workflow_file

    def render_workflow(self, ctx: CiContext) -> str:
        return workflow.render(ctx, ctx.ci.stagecraft or f"stagecraft=={__version__}")

    def secrets(self, ctx: CiContext) -> list[Secret]:
        return ci_secrets.required(ctx)

    def set_secrets(self, ctx: CiContext, values: dict[tuple[str, str], str]) -> list[dict]:
        client = self.client(ctx)
        rows = []
        for scope in dict.fromkeys(scope for scope, _ in values):
            environment = None if scope == "repository" else scope
            if environment:
                client.ensure_environment(environment)
            key = client.public_key(environment)
            for (s, name), value in values.items():
                if s != scope:
                    continue
                status = client.put_secret(name, api.seal(key["key"], value), key["key_id"], environment)
                rows.append({"scope": scope, "name": name, "result": "created" if status == 201 else "updated"})
        return rows

    # ---- runs ---------------------------------------------------------------------------------------------
    def trigger(self, ctx: CiContext, environment: str, version: str | None) -> Run:
        client = self.client(ctx)
        workflow_id = Path(ctx.ci.workflow_file).name
        dispatch_id = _random.token_hex(8)
        got = client.dispatch(workflow_id, ctx.ci.branch,
                              {"environment": environment, "version": version or "", "dispatch_id": dispatch_id})
        if got and got.get("workflow_run_id"):
            return self.run(ctx, got["workflow_run_id"])
        # Older servers answer 204 without the id: find the run whose title carries our dispatch id,
        # never "the newest run" (that may be someone else's).
        for _ in range(FIND_RUN_ATTEMPTS):
            for r in client.workflow_runs(workflow_id, event="workflow_dispatch", branch=ctx.ci.branch, per_page=50):
                if dispatch_id in (r.get("display_title") or "").split():
                    return self.run(ctx, r["id"])
            self.sleep(self.poll_interval)
        raise ExternalError(f"dispatched {workflow_id} on {ctx.ci.branch}, but its run did not appear",
                            hint="look at the repository's Actions tab; the workflow may be disabled")

    def run(self, ctx: CiContext, run_id: int) -> Run:
        client = self.client(ctx)
        return _run(client.run(run_id), client.jobs(run_id))

    def latest_runs(self, ctx: CiContext) -> dict[str, Run | None]:
        client = self.client(ctx)
        wanted = {workflow.deploy_job_name(e): e for e in ctx.environments}
        found: dict[str, Run | None] = {e: None for e in ctx.environments}
        for r in client.workflow_runs(Path(ctx.ci.workflow_file).name, per_page=30):
            jobs = client.jobs(r["id"])
            for j in jobs:
                env = wanted.get(j["name"])
                if env and found[env] is None and j.get("conclusion") != "skipped":
                    found[env] = _run(r, [j])
            if all(found.values()):
                break
        return found

    def client(self, ctx: CiContext) -> api.Client:
        repository = ctx.ci.repository or api.repository_from_git(ctx.repo_root)
        if repository not in self._clients:
            self._clients[repository] = api.Client(repository, api.token(ctx.ci.token_env), notice=self.notice)
        return self._clients[repository]


def _run(r: dict, jobs: list[dict]) -> Run:
    return Run(id=r["id"], url=r.get("html_url") or "", status=r.get("status") or "", conclusion=r.get("conclusion"),
               event=r.get("event") or "", title=r.get("display_title") or "", created_at=r.get("created_at") or "",
               jobs=tuple(Job(id=j["id"], name=j["name"], status=j["status"], conclusion=j.get("conclusion"),
                              steps=tuple(Step(s["number"], s["name"], s["status"], s.get("conclusion"))
                                          for s in j.get("steps") or ())) for j in jobs))
