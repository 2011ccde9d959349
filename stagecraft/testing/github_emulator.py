"""A stateful stand-in for the GitHub REST endpoints `stagecraft ci` uses, for tests.

Runs `http.server` in a thread on 127.0.0.1 (point GITHUB_API_URL at `url`). Keeps one repository with its
Actions secrets public key, environments (each with its own key pair), secrets, workflows and runs. Sealed
secrets are decrypted with the private key, so tests see the plaintext only if the encryption was right
(`secrets[(scope, name)]`; scope "repository" or an environment name).

Workflows are "pushed" with `push_workflow(file, text)`; a dispatch checks the ref, the workflow's
`workflow_dispatch` inputs (unknown, missing or out-of-choice inputs answer 422 as GitHub does) and starts a
run whose jobs come from the workflow: the deploy jobs whose `if:` names another environment are skipped.
Runs move one step per poll of the run (deterministic, no clocks): queued, then each job's steps in order.
`fail_step = (job name, step name)` makes that step fail (later jobs are skipped). `interleave = True` starts
someone else's dispatch of the same workflow before and after each dispatch; `legacy_dispatch = True`
answers 204 without the run id (servers without `return_run_details`).

Every request (method, path, query, body) and every response (status, body) is validated against GitHub's
official OpenAPI description when it is installed (stagecraft/testing/github_spec.py); violations are collected
in `violations`, and a bad request gets a 422. Faults: `inject(method, path_regex, status, ...)` for 403
(with the permission headers), 404, 422, 429 / 403 rate limits (retry-after or x-ratelimit-reset).
"""

from __future__ import annotations

import itertools
import json
import re
import threading
import time
from base64 import b64decode, b64encode
from datetime import datetime, timezone
from http.server import ThreadingHTTPServer
from urllib.parse import parse_qs, unquote, urlsplit

import yaml

from . import github_spec
from .http import json_handler

SHA = "6dcb09b5b57875f334f61aebed695e2e4193db5e"
DOCS = "https://docs.github.com/rest"


def _now() -> str:
    return datetime.now(timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


class _KeyPair:
    def __init__(self, key_id: str):
        from nacl.public import PrivateKey

        self.private = PrivateKey.generate()
        self.key_id = key_id

    @property
    def public_b64(self) -> str:
        return b64encode(bytes(self.private.public_key)).decode()

    def open(self, sealed_b64: str) -> str:
        from nacl.public import SealedBox

        return SealedBox(self.private).decrypt(b64decode(sealed_b64)).decode()


class Emulator:
    def __init__(self, repository: str = "acme/shop", token: str = "ghp-test-token", *, validate: bool = True,
                 branches=("main",)):
        self.owner, self.name = repository.split("/")
        self.token = token
        self.spec = github_spec.load() if validate else None
        self.violations: list[str] = []
        self.requests: list[dict] = []
        self.branches = set(branches)
        self.repo_key = _KeyPair("568250167242549743")
        self.environments: dict[str, dict] = {}
        self.env_keys: dict[str, _KeyPair] = {}
        self.secrets: dict[tuple[str, str], str] = {}  # (scope, name) -> plaintext, decrypted here
        self.workflows: dict[str, dict] = {}  # file name -> {"id", "doc", "path"}
        self.runs: dict[int, dict] = {}
        self.fail_step: tuple[str, str] | None = None
        self.interleave = False
        self.legacy_dispatch = False
        self._ids = itertools.count(30433642)
        self._faults: list[dict] = []
        self._lock = threading.RLock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(self))
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    # ---- test controls ---------------------------------------------------------------------------
    def push_workflow(self, file: str, text: str) -> None:
        """The workflow as committed on the default branch (what a dispatch runs)."""
        name = file.rsplit("/", 1)[-1]
        self.workflows[name] = {"id": next(self._ids), "doc": yaml.safe_load(text), "path": f".github/workflows/{name}"}

    def inject(self, method: str, path: str, status: int, *, times: int = 1, retry_after: float | None = None,
               reset_in: float | None = None, permissions: str = "actions=write", scopes: str = "repo") -> None:
        """The next `times` requests matching METHOD and the path regex answer `status`. A 429 or a 403 with
        retry_after/reset_in is a rate limit; any other 403 names the permission the token lacks."""
        self._faults.append({"method": method.upper(), "path": re.compile(path), "status": status, "times": times,
                             "retry_after": retry_after, "reset_in": reset_in, "permissions": permissions,
                             "scopes": scopes})

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    # ---- request handling ----------------------------------------------------------------------------
    def handle(self, method: str, raw_path: str, headers, body_bytes: bytes):
        parts = urlsplit(raw_path)
        path = unquote(parts.path.rstrip("/") or "/")
        query = {k: v[-1] for k, v in parse_qs(parts.query).items()}
        body = None
        if body_bytes:
            try:
                body = json.loads(body_bytes)
            except ValueError:
                return 400, {"message": "Problems parsing JSON", "documentation_url": DOCS}, {}
        self.requests.append({"method": method, "path": path, "query": query, "body": body})
        if headers.get("Authorization") != f"Bearer {self.token}":
            return 401, {"message": "Bad credentials", "documentation_url": DOCS}, {}
        if self.spec:
            problems = self.spec.request_errors(method, path, query, body)
            if problems:
                self.violations += [f"request {method} {path}: {p}" for p in problems]
                return 422, {"message": "Invalid request.\n\n" + "\n".join(problems)[:500],
                             "documentation_url": DOCS}, {}
        fault = next((f for f in self._faults
                      if f["times"] > 0 and f["method"] == method and f["path"].search(path)), None)
        if fault:
            fault["times"] -= 1
            status, payload, extra = self._fault(fault)
        else:
            with self._lock:
                status, payload = self._route(method, path, query, body)
            extra = {}
        if self.spec:
            if status >= 400:  # GitHub answers errors on any endpoint; their bodies have one shape
                problems = github_spec.errors(self.spec.error_schema(status), payload)
            else:
                problems = self.spec.response_errors(method, path, status, payload)
            self.violations += [f"response {method} {path} {status}: {p}" for p in problems]
        return status, payload, extra

    def _fault(self, fault: dict):
        status = fault["status"]
        extra = {}
        if fault["retry_after"] is not None:
            extra["Retry-After"] = str(int(fault["retry_after"]))
        if fault["reset_in"] is not None:
            extra.update({"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(int(time.time() + fault["reset_in"]))})
        if status in (403, 429) and extra:
            return status, {"message": "API rate limit exceeded for user ID 1.", "documentation_url": DOCS}, extra
        if status == 403:
            return 403, {"message": "Resource not accessible by personal access token", "documentation_url": DOCS}, {
                "X-Accepted-GitHub-Permissions": fault["permissions"], "X-Accepted-OAuth-Scopes": fault["scopes"]}
        if status == 404:
            return 404, {"message": "Not Found", "documentation_url": DOCS}, {}
        if status == 422:
            return 422, {"message": "Validation Failed", "documentation_url": DOCS,
                         "errors": [{"resource": "injected", "code": "invalid", "message": "injected failure"}]}, {}
        return status, {"message": "injected", "documentation_url": DOCS}, {}

    def _route(self, method, path, query, body):
        m = re.fullmatch
        repo = f"/repos/{self.owner}/{self.name}"
        if not path.startswith(repo + "/"):
            return _not_found()
        tail = path[len(repo):]
        if tail == "/actions/secrets/public-key" and method == "GET":
            return 200, {"key_id": self.repo_key.key_id, "key": self.repo_key.public_b64}
        if (g := m(r"/actions/secrets/([A-Za-z0-9_]+)", tail)) and method == "PUT":
            return self._put_secret("repository", g[1], self.repo_key, body)
        if (g := m(r"/environments/([^/]+)", tail)) and method == "PUT":
            env = self.environments.setdefault(g[1], self._environment(g[1]))
            env["updated_at"] = _now()
            return 200, env
        if (g := m(r"/environments/([^/]+)/secrets/public-key", tail)) and method == "GET":
            if g[1] not in self.environments:
                return _not_found()
            key = self.env_keys.setdefault(g[1], _KeyPair(str(next(self._ids))))
            return 200, {"key_id": key.key_id, "key": key.public_b64}
        if (g := m(r"/environments/([^/]+)/secrets/([A-Za-z0-9_]+)", tail)) and method == "PUT":
            if g[1] not in self.env_keys:
                return _not_found()
            return self._put_secret(g[1], g[2], self.env_keys[g[1]], body)
        if (g := m(r"/actions/workflows/([^/]+)/dispatches", tail)) and method == "POST":
            return self._dispatch(g[1], body)
        if (g := m(r"/actions/workflows/([^/]+)/runs", tail)) and method == "GET":
            wf = self.workflows.get(g[1])
            if wf is None:
                return _not_found()
            runs = [r for r in self.runs.values() if r["workflow_id"] == wf["id"]
                    and query.get("event") in (None, r["event"]) and query.get("branch") in (None, r["head_branch"])]
            runs.sort(key=lambda r: r["id"], reverse=True)
            per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            chunk = runs[(page - 1) * per_page: page * per_page]
            return 200, {"total_count": len(runs), "workflow_runs": [self._public_run(r) for r in chunk]}
        if (g := m(r"/actions/runs/(\d+)", tail)) and method == "GET":
            run = self.runs.get(int(g[1]))
            if run is None:
                return _not_found()
            self._advance(run)
            return 200, self._public_run(run)
        if (g := m(r"/actions/runs/(\d+)/jobs", tail)) and method == "GET":
            run = self.runs.get(int(g[1]))
            if run is None:
                return _not_found()
            per_page, page = int(query.get("per_page", 30)), int(query.get("page", 1))
            jobs = run["_jobs"][(page - 1) * per_page: page * per_page]
            return 200, {"total_count": len(run["_jobs"]), "jobs": [dict(j) for j in jobs]}
        return 404, {"message": f"Not Found (the emulator does not implement {method} {path})",
                     "documentation_url": DOCS}

    def _put_secret(self, scope: str, name: str, key: _KeyPair, body: dict):
        if body.get("key_id") != key.key_id:
            return 422, {"message": "Validation Failed", "documentation_url": DOCS,
                         "errors": [{"resource": "Secret", "field": "key_id", "code": "invalid"}]}
        try:
            plaintext = key.open(body["encrypted_value"])
        except Exception:  # noqa: BLE001 - any decryption failure is GitHub's "bad encrypted value"
            return 422, {"message": "Bad request: encrypted_value could not be decrypted", "documentation_url": DOCS}
        existed = (scope, name) in self.secrets
        self.secrets[(scope, name)] = plaintext
        return (204, None) if existed else (201, {})

    def _environment(self, name: str) -> dict:
        eid = next(self._ids)
        return {"id": eid, "node_id": f"EN_{eid}", "name": name,
                "url": f"{self.url}/repos/{self.owner}/{self.name}/environments/{name}",
                "html_url": f"https://github.com/{self.owner}/{self.name}/deployments/activity_log?environments_filter={name}",
                "created_at": _now(), "updated_at": _now(), "protection_rules": [], "deployment_branch_policy": None}

    # ---- runs ---------------------------------------------------------------------------------------
    def _dispatch(self, workflow_file: str, body: dict):
        wf = self.workflows.get(workflow_file)
        if wf is None:
            return 404, {"message": "Not Found", "documentation_url": DOCS}
        if body["ref"] not in self.branches:
            return 422, {"message": f"No ref found for: {body['ref']}", "documentation_url": DOCS}
        on = wf["doc"].get("on") or wf["doc"].get(True) or {}
        if "workflow_dispatch" not in on:
            return 422, {"message": "Workflow does not have 'workflow_dispatch' trigger", "documentation_url": DOCS}
        declared = (on["workflow_dispatch"] or {}).get("inputs") or {}
        inputs = body.get("inputs") or {}
        unexpected = sorted(set(inputs) - set(declared))
        if unexpected:
            return 422, {"message": f"Unexpected inputs provided: {json.dumps(unexpected)}", "documentation_url": DOCS}
        for name, spec in declared.items():
            value = inputs.get(name, spec.get("default"))
            if spec.get("required") and value in (None, ""):
                return 422, {"message": f"Required input '{name}' not provided", "documentation_url": DOCS}
            if spec.get("type") == "choice" and value not in spec.get("options", ()):
                return 422, {"message": f"Provided value '{value}' for input '{name}' not in the list of allowed values",
                             "documentation_url": DOCS}
        values = {n: inputs.get(n, s.get("default", "")) for n, s in declared.items()}
        if self.interleave:
            self._start_run(wf, body["ref"], {**values, "dispatch_id": "someone-else-before"})
        run = self._start_run(wf, body["ref"], values)
        if self.interleave:
            self._start_run(wf, body["ref"], {**values, "dispatch_id": "someone-else-after"})
        if self.legacy_dispatch or not body.get("return_run_details"):
            return 204, None
        return 200, {"workflow_run_id": run["id"], "run_url": run["url"], "html_url": run["html_url"]}

    def _start_run(self, wf: dict, ref: str, inputs: dict) -> dict:
        rid = next(self._ids)
        doc = wf["doc"]
        title = re.sub(r"\$\{\{\s*inputs\.(\w+)(?:\s*\|\|\s*[^}]*)?\s*\}\}", lambda m: str(inputs.get(m[1]) or ""),
                       doc.get("run-name") or doc.get("name") or wf["path"])
        title = re.sub(r"\$\{\{[^}]*\}\}", SHA, title)
        base = f"{self.url}/repos/{self.owner}/{self.name}/actions/runs/{rid}"
        run = {
            "id": rid, "name": doc.get("name"), "node_id": f"WFR_{rid}", "head_branch": ref, "head_sha": SHA,
            "path": wf["path"], "run_number": len(self.runs) + 1, "run_attempt": 1, "event": "workflow_dispatch",
            "display_title": " ".join(title.split()), "status": "queued", "conclusion": None,
            "workflow_id": wf["id"], "url": base, "html_url": f"https://github.com/{self.owner}/{self.name}/actions/runs/{rid}",
            "created_at": _now(), "updated_at": _now(), "run_started_at": _now(),
            "jobs_url": base + "/jobs", "logs_url": base + "/logs", "check_suite_url": base + "/check-suite",
            "cancel_url": base + "/cancel", "rerun_url": base + "/rerun", "artifacts_url": base + "/artifacts",
            "workflow_url": f"{self.url}/repos/{self.owner}/{self.name}/actions/workflows/{wf['id']}",
            "pull_requests": [], "head_commit": {"id": SHA, "tree_id": SHA, "message": "deploy", "timestamp": _now(),
                                                 "author": {"name": "dev", "email": "dev@example.com"},
                                                 "committer": {"name": "dev", "email": "dev@example.com"}},
            "repository": self._repository(), "head_repository": self._repository(),
            "_jobs": [], "_inputs": inputs,
        }
        for job_id, job in (doc.get("jobs") or {}).items():
            skipped = _skipped(job.get("if"), inputs)
            run["_jobs"].append(self._job(run, job_id, job, skipped))
        self.runs[rid] = run
        return run

    def _job(self, run: dict, job_id: str, job: dict, skipped: bool) -> dict:
        jid = next(self._ids)
        names = ["Set up job"] + [s.get("name") or (f"Run {s['uses']}" if "uses" in s else f"Run {s['run'].splitlines()[0]}")
                                  for s in job.get("steps") or ()] + ["Complete job"]
        return {"id": jid, "run_id": run["id"], "run_url": run["url"], "run_attempt": 1, "node_id": f"CR_{jid}",
                "head_sha": SHA, "url": f"{self.url}/repos/{self.owner}/{self.name}/actions/jobs/{jid}",
                "html_url": f"https://github.com/{self.owner}/{self.name}/actions/runs/{run['id']}/job/{jid}",
                "status": "completed" if skipped else "queued", "conclusion": "skipped" if skipped else None,
                "created_at": _now(), "started_at": _now(), "completed_at": _now() if skipped else None,
                "name": job.get("name") or job_id, "check_run_url": f"{self.url}/check-runs/{jid}",
                "labels": [job.get("runs-on", "ubuntu-latest")], "runner_id": None, "runner_name": None,
                "runner_group_id": None, "runner_group_name": None, "workflow_name": run["name"],
                "head_branch": run["head_branch"],
                "steps": [] if skipped else [{"name": n, "status": "queued", "conclusion": None, "number": i + 1,
                                              "started_at": None, "completed_at": None} for i, n in enumerate(names)]}

    def _advance(self, run: dict) -> None:
        """One step further per poll: the first unfinished step completes (or fails as told)."""
        if run["status"] == "completed":
            return
        if run["status"] == "queued":
            run["status"] = "in_progress"
            return
        for job in run["_jobs"]:
            if job["status"] == "completed":
                continue
            if any(j["conclusion"] == "failure" for j in run["_jobs"]):
                job.update(status="completed", conclusion="skipped", completed_at=_now(), steps=[])
                continue
            job["status"] = "in_progress"
            step = next(s for s in job["steps"] if s["status"] != "completed")
            failed = self.fail_step == (job["name"], step["name"])
            step.update(status="completed", conclusion="failure" if failed else "success", started_at=_now(),
                        completed_at=_now())
            if failed:
                for rest in job["steps"]:
                    if rest["status"] != "completed":
                        rest.update(status="completed", conclusion="skipped")
            if all(s["status"] == "completed" for s in job["steps"]):
                job.update(status="completed", completed_at=_now(),
                           conclusion="failure" if any(s["conclusion"] == "failure" for s in job["steps"]) else "success")
                if job["conclusion"] == "failure":
                    continue  # later jobs are skipped on the next poll
            return
        run["status"] = "completed"
        run["conclusion"] = "failure" if any(j["conclusion"] == "failure" for j in run["_jobs"]) else "success"
        run["updated_at"] = _now()

    def _public_run(self, run: dict) -> dict:
        return {k: v for k, v in run.items() if not k.startswith("_")}

    def _repository(self) -> dict:
        api = f"{self.url}/repos/{self.owner}/{self.name}"
        urls = {k: f"{api}/{k.removesuffix('_url')}" for k in (
            "archive_url", "assignees_url", "blobs_url", "branches_url", "collaborators_url", "comments_url",
            "commits_url", "compare_url", "contents_url", "contributors_url", "deployments_url", "downloads_url",
            "events_url", "forks_url", "git_commits_url", "git_refs_url", "git_tags_url", "hooks_url",
            "issue_comment_url", "issue_events_url", "issues_url", "keys_url", "labels_url", "languages_url",
            "merges_url", "milestones_url", "notifications_url", "pulls_url", "releases_url", "stargazers_url",
            "statuses_url", "subscribers_url", "subscription_url", "tags_url", "teams_url", "trees_url")}
        owner_api = f"{self.url}/users/{self.owner}"
        owner = {"login": self.owner, "id": 1, "node_id": "MDQ6VXNlcjE=", "type": "Organization", "site_admin": False,
                 "gravatar_id": "", "avatar_url": "https://github.com/images/error/octocat_happy.gif",
                 "html_url": f"https://github.com/{self.owner}", "url": owner_api,
                 **{k: f"{owner_api}/{k.removesuffix('_url')}" for k in (
                     "events_url", "followers_url", "following_url", "gists_url", "organizations_url",
                     "received_events_url", "repos_url", "starred_url", "subscriptions_url")}}
        return {"id": 1296269, "node_id": "MDEwOlJlcG9zaXRvcnkxMjk2MjY5", "name": self.name,
                "full_name": f"{self.owner}/{self.name}", "owner": owner, "private": True, "fork": False,
                "description": None, "html_url": f"https://github.com/{self.owner}/{self.name}", "url": api, **urls}


def _skipped(condition, inputs: dict) -> bool:
    """A dispatch run skips the deploy jobs whose `if:` names another environment."""
    if not isinstance(condition, str):
        return False
    m = re.search(r"inputs\.environment\s*==\s*'([^']*)'", condition)
    return bool(m) and m[1] != inputs.get("environment")


def _not_found():
    return 404, {"message": "Not Found", "documentation_url": DOCS}


def _handler(emulator: Emulator):
    return json_handler(emulator.handle, lambda: {"X-RateLimit-Limit": "5000", "X-RateLimit-Remaining": "4999",
                                        "X-RateLimit-Reset": str(int(time.time()) + 3600)}, "application/json; charset=utf-8")
