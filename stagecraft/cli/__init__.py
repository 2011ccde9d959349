"""The click command line: thin orchestration over config, commands and the runner."""
