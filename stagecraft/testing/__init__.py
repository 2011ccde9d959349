"""Test stand-ins shipped with the package (the DigitalOcean emulator and its spec contract check)."""
