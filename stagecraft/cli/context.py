"""What most commands need: the loaded config, the chosen environment, its driver, and a deploy session
that reports through the CLI's output."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from .settings import settings


@dataclass
class EnvContext:
    loaded: object  # LoadedConfig
    resolved: object  # ResolvedEnvironment
    state_dir: Path

    @property
    def config(self):
        return self.resolved.config

    @property
    def environment(self):
        return self.resolved.environment

    def driver_context(self):
        from ..drivers import DriverContext

        return DriverContext(config=self.config, environment=self.environment, state_dir=self.state_dir)

    def driver(self, operation: str | None = None):
        """The environment's driver; with `operation`, one that supports `infra <operation>`."""
        from ..drivers import get_driver
        from ..errors import UserError

        driver = get_driver(self.environment.driver)
        if operation and not hasattr(driver, operation):
            raise UserError(f"environments.{self.environment.name}.driver: driver '{self.environment.driver}' "
                            f"does not support 'infra {operation}'")
        return driver

    def inventory(self) -> dict:
        """The environment's Ansible inventory, from one driver discovery."""
        from ..deploy.session import Session

        return Session(self).inventory().document

    def hostvars(self) -> dict:
        """host -> connection variables, from one driver discovery."""
        from ..deploy.session import Session

        return Session(self).inventory().hostvars

    def current_release(self):
        """The last completed deploy or rollback of the environment: what its hosts run."""
        from ..state import open_store

        return open_store(self.state_dir, read_only=True).current(self.environment.name)


def env_context() -> EnvContext:
    s = settings()
    loaded = s.load()
    resolved = loaded.resolve(s.env_name())
    return EnvContext(loaded=loaded, resolved=resolved, state_dir=s.state_dir)


def deploy_session(ctx: EnvContext, **kwargs):
    """A deploy.Session printing progress and warnings like every command (--verbose, --quiet)."""
    from ..deploy.session import Session
    from . import output

    s = settings()
    return Session(ctx, verbosity=s.verbose, quiet=s.quiet, say=output.info, warn=output.warn, **kwargs)
