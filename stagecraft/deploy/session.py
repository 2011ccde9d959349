"""What one deploy or rollback works with. The hosts are discovered once, on first use (an API call
per discovery on cloud drivers), and every step reads addresses and connection variables from here."""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Callable

from . import inventory as inv


@dataclass
class Session:
    ctx: object  # stagecraft.cli.context.EnvContext (config, environment, resolved, loaded, state_dir)
    envvars: dict = field(default_factory=dict)  # name -> value: Ansible's environment (never a file)
    env_names: list = field(default_factory=list)  # variables the hosts' .env holds
    limit: list | None = None  # --limit hosts; None: every host
    force: bool = False
    put_back: bool = False  # a failed batch puts the hosts it reached back on the previous release (deploy)
    keep_partial: bool = False  # ...except those of completed batches (--keep-partial)
    run_tests: bool = True  # .stagecraft/tests/*.sh after the rollout of a deploy (--no-tests: False)
    firewall: dict = field(default_factory=dict)  # host -> firewall state the probe found (loaded, restored, ...)
    verbosity: int = 0
    quiet: bool = False
    say: Callable[[str], None] = print
    warn: Callable[[str], None] = print

    @property
    def config(self):
        return self.ctx.config

    @property
    def environment(self):
        return self.ctx.environment

    @cached_property
    def _discovery(self) -> tuple[dict, dict, dict]:
        from ..drivers import driver_host_vars

        dctx = self.ctx.driver_context()
        driver = self.ctx.driver()
        return driver.discover(dctx), driver.connection_defaults(dctx), driver_host_vars(dctx)

    @property
    def discovered(self) -> dict:
        """host -> HostFacts, from the driver's one `discover` of this session."""
        return self._discovery[0]

    @property
    def addresses(self) -> dict[str, str]:
        return inv.host_addresses(self.environment, self.discovered)

    @cached_property
    def compose(self) -> dict | None:
        """The app's compose file as data (None when there is none)."""
        from ..config import compose_document

        return compose_document(self.config.project.compose_path(self.config.base_dir))

    def inventory(self, desired: dict | None = None) -> inv.DeployInventory:
        return inv.deploy_inventory(self.config, self.environment, self.discovered, state_dir=self.ctx.state_dir,
                                    connection_defaults=self._discovery[1], driver_vars=self._discovery[2],
                                    desired=desired, compose=self.compose)
