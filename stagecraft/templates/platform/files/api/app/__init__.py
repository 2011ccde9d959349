"""The platform's API and worker: standard library only, so the same code runs in the image (Debian's
python3) and under `stagecraft dev` (the developer's python3) with nothing to install."""
