"""A small GitHub REST client (stdlib HTTP) for the Actions endpoints Stagecraft uses.

The token comes from the env var named by ci.github.token_env (default GITHUB_TOKEN), else GH_TOKEN; it is
sent only in the Authorization header and never printed. Rate limits (403/429 with x-ratelimit-remaining: 0
or retry-after) are waited out when the wait is short; other failures become errors that say what to do.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from base64 import b64decode, b64encode
from pathlib import Path

from ...errors import ExternalError, UserError

API_URL_ENV = "GITHUB_API_URL"  # as on GitHub's runners and GitHub Enterprise Server
DEFAULT_API = "https://api.github.com"
MAX_RATE_WAIT = 900  # seconds; a longer rate-limit wait becomes an error that says when to retry
API_VERSION = "2022-11-28"


class GitHubError(ExternalError):
    def __init__(self, message: str, status: int | None = None, *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.status = status


def token(token_env: str, environ=None) -> str:
    environ = os.environ if environ is None else environ
    for name in dict.fromkeys((token_env, "GITHUB_TOKEN", "GH_TOKEN")):
        if environ.get(name):
            return environ[name]
    raise UserError(f"no GitHub token: set {token_env}" + (" or GH_TOKEN" if token_env != "GH_TOKEN" else ""),
                    hint="a fine-grained token needs Actions, Secrets, Environments (read and write) and Metadata "
                         "(read) on the repository; a classic token the 'repo' and 'workflow' scopes")


def repository_from_git(repo_root: Path) -> str:
    """owner/name of the origin remote (https, ssh or scp-like URL)."""
    proc = subprocess.run(["git", "-C", str(repo_root), "remote", "get-url", "origin"], capture_output=True, text=True)
    url = proc.stdout.strip()
    if proc.returncode != 0 or not url:
        raise UserError(f"cannot find the GitHub repository: {repo_root} has no 'origin' git remote",
                        hint="add one, or set ci.github.repository: owner/name")
    m = re.search(r"[:/]([A-Za-z0-9_.-]+)/([A-Za-z0-9_.-]+?)(?:\.git)?/?$", url)
    if not m:
        raise UserError(f"cannot read owner/name from the origin remote {url!r}",
                        hint="set ci.github.repository: owner/name")
    return f"{m[1]}/{m[2]}"


def seal(public_key_b64: str, value: str) -> str:
    """A libsodium sealed box of value for the repository's public key (what GitHub's secrets API takes)."""
    from nacl.public import PublicKey, SealedBox

    return b64encode(SealedBox(PublicKey(b64decode(public_key_b64))).encrypt(value.encode())).decode()


class Client:
    def __init__(self, repository: str, token_value: str, *, api_url: str | None = None, sleep=time.sleep,
                 notice=print):
        self.repository = repository
        self._token = token_value
        self.api_url = (api_url or os.environ.get(API_URL_ENV) or DEFAULT_API).rstrip("/")
        parts = urllib.parse.urlsplit(self.api_url)
        if parts.scheme != "https" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            raise UserError(f"{API_URL_ENV}={self.api_url}: only https (plain http only on loopback)")
        self._sleep = sleep
        self._notice = notice

    # ---- endpoints --------------------------------------------------------------------------------------
    def repo_path(self, tail: str) -> str:
        return f"/repos/{self.repository}/{tail}"

    def public_key(self, environment: str | None = None) -> dict:
        tail = f"environments/{_q(environment)}/secrets/public-key" if environment else "actions/secrets/public-key"
        return self.request("GET", self.repo_path(tail), what="read the secrets public key")

    def put_secret(self, name: str, encrypted: str, key_id: str, environment: str | None = None) -> int:
        tail = f"environments/{_q(environment)}/secrets/{name}" if environment else f"actions/secrets/{name}"
        return self.request("PUT", self.repo_path(tail), {"encrypted_value": encrypted, "key_id": key_id},
                            what=f"set secret {name}", status=True)

    def ensure_environment(self, environment: str) -> None:
        """Create the GitHub environment if missing (PUT keeps an existing one's protection rules)."""
        self.request("PUT", self.repo_path(f"environments/{_q(environment)}"), {},
                     what=f"create the GitHub environment {environment}")

    def dispatch(self, workflow: str, ref: str, inputs: dict) -> dict | None:
        """workflow_dispatch; GitHub answers the run id (200) when asked for it, older servers 204."""
        body = {"ref": ref, "inputs": inputs, "return_run_details": True}
        return self.request("POST", self.repo_path(f"actions/workflows/{_q(workflow)}/dispatches"), body,
                            what=f"dispatch workflow {workflow}")

    def workflow_runs(self, workflow: str, **query) -> list[dict]:
        path = self.repo_path(f"actions/workflows/{_q(workflow)}/runs")
        return self.request("GET", path + "?" + urllib.parse.urlencode(query),
                            what=f"list runs of {workflow}")["workflow_runs"]

    def run(self, run_id: int) -> dict:
        return self.request("GET", self.repo_path(f"actions/runs/{int(run_id)}"), what=f"read run {run_id}")

    def jobs(self, run_id: int) -> list[dict]:
        jobs, page = [], 1
        while True:
            got = self.request("GET", self.repo_path(f"actions/runs/{int(run_id)}/jobs?per_page=100&page={page}"),
                               what=f"read the jobs of run {run_id}")
            jobs += got["jobs"]
            if len(jobs) >= got["total_count"] or not got["jobs"]:
                return jobs
            page += 1

    # ---- transport --------------------------------------------------------------------------------------
    def request(self, method: str, path: str, body=None, *, what: str, status: bool = False):
        data = None if body is None else json.dumps(body).encode()
        while True:
            req = urllib.request.Request(self.api_url + path, data=data, method=method, headers={
                "Accept": "application/vnd.github+json", "X-GitHub-Api-Version": API_VERSION,
                "Authorization": f"Bearer {self._token}", "User-Agent": "stagecraft",
                **({"Content-Type": "application/json"} if data is not None else {})})
            try:
                with urllib.request.urlopen(req, timeout=60) as resp:
                    raw = resp.read()
                    if status:
                        return resp.status
                    return json.loads(raw) if raw else None
            except urllib.error.HTTPError as exc:
                payload = _json(exc.read())
                wait = _rate_limit_wait(exc.code, exc.headers, payload)
                if wait is None:
                    raise self._error(exc.code, exc.headers, payload, what) from None
                if wait > MAX_RATE_WAIT:
                    raise GitHubError(f"GitHub rate limit reached; it resets in {int(wait)} s", exc.code,
                                      hint="retry later, or use a token with a higher limit") from None
                self._notice(f"GitHub rate limit reached; waiting {int(wait)} s as GitHub asks")
                self._sleep(max(wait, 1))
            except urllib.error.URLError as exc:
                raise GitHubError(f"cannot reach {self.api_url} to {what}: {exc.reason}") from None

    def _error(self, code: int, headers, payload: dict, what: str) -> GitHubError:
        message = payload.get("message") or f"HTTP {code}"
        where = f"cannot {what} in {self.repository}"
        if code == 401:
            return GitHubError(f"{where}: the token was rejected (401 {message})", code,
                               hint="check the token in GITHUB_TOKEN/GH_TOKEN; it may have expired")
        if code == 403:
            needs = headers.get("X-Accepted-GitHub-Permissions") or ""
            scopes = headers.get("X-Accepted-OAuth-Scopes") or ""
            wanted = "; ".join(x for x in (f"fine-grained permission {needs}" if needs else "",
                                           f"classic token scope {scopes}" if scopes else "") if x)
            return GitHubError(f"{where}: forbidden (403 {message})" + (f"; the token needs {wanted}" if wanted else ""),
                               code, hint="grant that to the token, or use one that has it")
        if code == 404:
            return GitHubError(f"{where}: not found (404 {message})", code,
                               hint="check the repository name and that the token can see it; a workflow must be "
                                    "committed and pushed to the default branch before it can be dispatched")
        if code == 422:
            errors = "; ".join(str(e.get("message") or e) if isinstance(e, dict) else str(e)
                               for e in payload.get("errors") or ())
            return GitHubError(f"{where}: rejected (422 {message}{': ' + errors if errors else ''})", code)
        return GitHubError(f"{where}: GitHub answered {code} {message}", code)


def _rate_limit_wait(code: int, headers, payload: dict) -> float | None:
    """Seconds to wait when GitHub says the request was rate limited (primary or secondary), else None."""
    if code not in (403, 429):
        return None
    if headers.get("Retry-After"):
        try:
            return float(headers["Retry-After"])
        except ValueError:
            return 60.0
    if headers.get("X-RateLimit-Remaining") == "0" and headers.get("X-RateLimit-Reset"):
        return max(0.0, float(headers["X-RateLimit-Reset"]) - time.time())
    if code == 429 or "rate limit" in (payload.get("message") or "").lower():
        return 60.0  # secondary limit without headers: GitHub asks for at least a minute
    return None


def _json(raw: bytes) -> dict:
    try:
        value = json.loads(raw or b"{}")
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def _q(part: str) -> str:
    return urllib.parse.quote(part, safe="")
