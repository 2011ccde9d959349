"""What most commands need: the loaded config, the chosen environment, and its driver."""

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

    def driver(self):
        from ..drivers import get_driver

        return get_driver(self.environment.driver)

    def inventory(self) -> dict:
        from ..commands.inventory import render_inventory

        ctx = self.driver_context()
        driver = self.driver()
        from ..config import compose_document

        compose = compose_document(self.config.project.compose_path(self.config.base_dir))
        return render_inventory(self.config, self.environment, driver.discover(ctx), state_dir=self.state_dir,
                                connection_defaults=driver.connection_defaults(ctx), compose=compose)


def env_context() -> EnvContext:
    s = settings()
    loaded = s.load()
    resolved = loaded.resolve(s.env_name())
    return EnvContext(loaded=loaded, resolved=resolved, state_dir=s.state_dir)
