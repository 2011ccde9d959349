"""pydo behind one retrying call: 429 waits for `ratelimit-reset`, 5xx and lost answers back off, lists
are paginated. A create is never resent blindly (see `create_once`): its answer may be lost after it
took effect.

The token is read from the env var the config names and only ever handed to pydo's auth policy; it is
never part of a message. pydo's own (azure-core) retries are switched off so these rules are the only ones.
"""

from __future__ import annotations

import ipaddress
import os
import time
from urllib.parse import urlsplit

from ...errors import ExternalError, UserError

DEFAULT_URL = "https://api.digitalocean.com"
URL_ENV = "STAGECRAFT_DO_API_URL"
MAX_ATTEMPTS = 6
MAX_WAIT_SECONDS = 60.0
PER_PAGE = 200


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def api_url() -> str:
    url = os.environ.get(URL_ENV) or DEFAULT_URL
    parts = urlsplit(url)
    if parts.scheme == "https":
        return url.rstrip("/")
    if parts.scheme == "http" and _is_loopback(parts.hostname or ""):
        return url.rstrip("/")
    raise UserError(f"{URL_ENV}={url}: only https, or plain http to a loopback address (emulators), is allowed")


class ApiError(ExternalError):
    def __init__(self, message: str, status: int | None = None, *, transient: bool = False):
        super().__init__(message)
        self.status = status
        # A 5xx or an answer lost after the request was sent: it may or may not have taken effect.
        self.transient = transient or (status or 0) >= 500


class Api:
    """The calls Stagecraft makes, each one retried by the same rules."""

    def __init__(self, token_env: str, *, sleep=time.sleep, say=lambda msg: None):
        token = os.environ.get(token_env)
        if not token:
            raise UserError(f"cloud.digitalocean.token_env: environment variable {token_env} is not set",
                            hint=f"export {token_env}=<a DigitalOcean API token>")
        try:
            import pydo
            from azure.core.pipeline.policies import HeadersPolicy
        except ImportError as exc:
            raise UserError("the digitalocean driver needs pydo: pip install 'stagecraft[digitalocean]'") from exc
        url = api_url()
        kwargs = {"retry_total": 0}
        if url.startswith("http://"):
            # azure-core's bearer policy refuses plain http; loopback emulators get the header directly.
            kwargs["authentication_policy"] = HeadersPolicy({"Authorization": f"Bearer {token}"})
        self.client = pydo.Client(token=token, endpoint=url, **kwargs)
        self._sleep = sleep
        self._say = say

    def call(self, what: str, fn, *args, retry_5xx: bool = True, **kwargs):
        """retry_5xx=False for non-idempotent calls (creates): a 5xx or lost answer is raised, transient."""
        from azure.core.exceptions import HttpResponseError, ServiceRequestError, ServiceResponseError

        delay = 1.0
        for attempt in range(1, MAX_ATTEMPTS + 1):
            try:
                return fn(*args, **kwargs)
            except HttpResponseError as exc:
                status = exc.status_code or 0
                headers = exc.response.headers if exc.response is not None else {}
                if attempt < MAX_ATTEMPTS and status == 429:
                    wait = _reset_wait(headers.get("ratelimit-reset"), delay)
                    self._say(f"DigitalOcean rate limit on {what}; waiting {_seconds(wait)} s")
                    self._sleep(wait)
                elif attempt < MAX_ATTEMPTS and status >= 500 and retry_5xx:
                    self._say(f"DigitalOcean {status} on {what}; retrying in {_seconds(delay)} s")
                    self._sleep(delay)
                else:
                    raise ApiError(f"DigitalOcean API {what}: {status} {_message(exc)}", status) from None
                delay = min(delay * 2, MAX_WAIT_SECONDS)
            except ServiceRequestError as exc:  # nothing was sent: always safe to retry
                if attempt >= MAX_ATTEMPTS:
                    raise ApiError(f"DigitalOcean API {what}: cannot connect ({exc.message})") from None
                self._sleep(delay)
                delay = min(delay * 2, MAX_WAIT_SECONDS)
            except ServiceResponseError as exc:  # sent, but the answer was lost (reset, read failure)
                message = f"DigitalOcean API {what}: no answer ({_first_line(exc.message)})"
                if attempt >= MAX_ATTEMPTS or not retry_5xx:
                    raise ApiError(message, transient=True) from None
                self._say(f"{message}; retrying in {_seconds(delay)} s")
                self._sleep(delay)
                delay = min(delay * 2, MAX_WAIT_SECONDS)
        raise AssertionError("unreachable")

    def list_all(self, what: str, fn, key: str, **params) -> list[dict]:
        """Every page of a list endpoint (follows links.pages.next by page number)."""
        out, page = [], 1
        while True:
            resp = self.call(what, fn, per_page=PER_PAGE, page=page, **params)
            out += resp.get(key) or []
            if not ((resp.get("links") or {}).get("pages") or {}).get("next"):
                return out
            page += 1


def _seconds(value: float) -> str:
    return f"{value:.0f}" if value >= 1 else f"{value:.1f}"  # a 0.5 s wait is not "0 s"


def _first_line(text) -> str:
    return (text or "connection lost").splitlines()[0][:200]


def _reset_wait(reset: str | None, fallback: float) -> float:
    # ratelimit-reset is the Unix time when the window resets.
    try:
        return min(max(float(reset) - time.time(), 0.5), MAX_WAIT_SECONDS)
    except (TypeError, ValueError):
        return fallback


def _message(exc) -> str:
    try:
        body = exc.response.json()
        return body.get("message") or body.get("id") or ""
    except Exception:  # noqa: BLE001 - error bodies are best effort
        return (exc.message or "").splitlines()[0] if exc.message else ""
