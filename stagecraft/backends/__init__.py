"""Backends: how the app's API service is built (config `backend.provider`). Plugins of the entry
point group `stagecraft.backends`; each is an object with:

- image_service(config) -> str | None   the compose service whose image the backend builds itself
                                         (None: Compose's `build:` does it)
- tag_suffix(config) -> str              appended to the release version in that image's tag
- build_override(config, service) -> config.services.Build | None
                                         stagecraft.yml settings for `docker build` of the service
- build_command(config, service, ref) -> (argv, cwd, program) | None
                                         a build other than `docker build` (program: what must be installed)

The configured one is stagecraft.commands.compose_render.backend_of(config).
"""
