"""After a deploy: the app's public URLs and what each answers."""

from __future__ import annotations

import http.client
import json
import socket
import ssl
import time
import urllib.parse

from ..commands.compose_render import EDGE_PUBLIC_PORT


def app_urls(desired: dict, addresses: dict[str, str]) -> dict[str, str | None]:
    """URL -> the address to reach it at: http://<address>/ of every host whose edge proxy listens
    publicly, and https://<name>/ of the names it serves over HTTPS (asked at the first such host's
    address, so the check needs no DNS)."""
    out: dict[str, str | None] = {}
    for name, host_deploy in sorted(desired.items()):
        if host_deploy.edge_port != EDGE_PUBLIC_PORT or not addresses.get(name):
            continue
        routes = json.loads(host_deploy.edge_config or "{}").get("routes") or []
        if any(not r.get("hosts") for r in routes):
            out[f"http://{addresses[name]}/"] = None
        for r in routes:
            scheme = "http" if r.get("tls") == "off" else "https"
            for host in r.get("hosts") or []:
                out.setdefault(f"{scheme}://{host}{r.get('path') or '/'}", addresses[name])
    return out


class PinnedHTTPSConnection(http.client.HTTPSConnection):
    """HTTPS to a name at a given address (no DNS), the name sent as SNI and Host."""

    def __init__(self, host, address: str, **kwargs):
        super().__init__(host, **kwargs)
        self.address = address

    def connect(self):
        sock = socket.create_connection((self.address, self.port), self.timeout)
        self.sock = self._context.wrap_socket(sock, server_hostname=self.host)


def fetch(url: str, address: str | None = None, *, context: ssl.SSLContext | None = None, timeout: float = 3,
          method: str = "GET") -> tuple[int, bytes, dict]:
    """(status, body, headers) of one request, without following redirects; `address` pins the host name."""
    parts = urllib.parse.urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    if parts.scheme == "https":
        conn = PinnedHTTPSConnection(parts.hostname, address or parts.hostname, port=parts.port or 443,
                                     timeout=timeout, context=context)
    else:
        conn = http.client.HTTPConnection(address or parts.hostname, parts.port or 80, timeout=timeout)
    try:
        conn.request(method, target, headers={"Host": parts.netloc})
        resp = conn.getresponse()
        return resp.status, resp.read(), dict(resp.getheaders())
    finally:
        conn.close()


def probe(url: str, address: str | None = None, attempts: int = 20) -> str:
    """'<status> <start of body>', or 'no answer (...)' after `attempts` tries half a second apart."""
    # The deploy only asks whether the edge answers; the certificate is the ACME server's business (its
    # errors fail the rollout), and this machine may not trust that CA (an internal one, a test one).
    context = ssl.create_default_context()
    context.check_hostname, context.verify_mode = False, ssl.CERT_NONE
    last = ""
    for _ in range(attempts):
        try:
            status, body, _ = fetch(url, address, context=context)
            if status < 500:  # a definite answer (404: nothing routed at this path; 308: to HTTPS)
                text = body[:200].decode(errors="replace").strip() if status < 300 else http.client.responses.get(status, "")
                return f"{status} {text}"
            last = f"HTTP {status}"  # 502/503 while the proxy's upstreams come up: ask again
        except (OSError, http.client.HTTPException) as exc:
            last = str(exc)
        time.sleep(0.5)
    return f"no answer ({last})"
