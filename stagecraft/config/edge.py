"""edge: the project's settings of the hosts' shared edge proxy (certificates, maintenance page).
Per-service routing (host names, path, TLS, redirect, HSTS) is under services.<s>.public."""

from __future__ import annotations

from dataclasses import dataclass

LETS_ENCRYPT = "https://acme-v02.api.letsencrypt.org/directory"


@dataclass(frozen=True)
class Edge:
    acme_directory: str = LETS_ENCRYPT  # the ACME server's directory URL
    acme_email: str = ""  # the ACME account's contact (expiry notices)
    acme_ca_file: str | None = None  # PEM trusted for the ACME server itself (internal ACME servers), relative to stagecraft.yml
    renew_interval: int = 600  # seconds between the proxy's checks for certificates to renew
    cert_timeout: int = 90  # seconds a deploy waits for a new name's certificate
    maintenance_page: str | None = None  # HTML file (relative to stagecraft.yml) answered with 503 in maintenance

    @classmethod
    def parse(cls, data: dict | None) -> "Edge":
        data = data or {}
        acme = data.get("acme") or {}
        return cls(
            acme_directory=acme.get("directory", cls.acme_directory),
            acme_email=acme.get("email", cls.acme_email),
            acme_ca_file=acme.get("ca_file"),
            renew_interval=acme.get("renew_interval", cls.renew_interval),
            cert_timeout=acme.get("cert_timeout", cls.cert_timeout),
            maintenance_page=(data.get("maintenance") or {}).get("page"),
        )
