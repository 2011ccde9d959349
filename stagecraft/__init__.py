"""Stagecraft: deploy a Docker Compose app to 1..N Linux hosts with bundled Ansible roles."""

__version__ = "0.1.0"
