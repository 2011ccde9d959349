"""After a deploy: the app's public URLs and what each answers."""

from __future__ import annotations

import time
import urllib.error
import urllib.request

from ..commands.compose_render import EDGE_PUBLIC_PORT


def app_urls(desired: dict, addresses: dict[str, str]) -> list[str]:
    """http://<address>/ of every host whose edge proxy listens publicly."""
    return [f"http://{addresses[name]}/" for name, host_deploy in sorted(desired.items())
            if host_deploy.edge_port == EDGE_PUBLIC_PORT and addresses.get(name)]


def probe(url: str, attempts: int = 20) -> str:
    """'<status> <start of body>', or 'no answer (...)' after `attempts` tries half a second apart."""
    last = ""
    for _ in range(attempts):
        try:
            with urllib.request.urlopen(url, timeout=3) as resp:
                return f"{resp.status} {resp.read(200).decode(errors='replace').strip()}"
        except urllib.error.HTTPError as exc:
            if exc.code < 500:  # a definite answer (e.g. 404: nothing routed at this path)
                return f"{exc.code} {exc.reason}"
            last = str(exc)  # 502/503 while the proxy's upstreams come up: ask again
        except OSError as exc:
            last = str(exc)
        time.sleep(0.5)
    return f"no answer ({last})"
