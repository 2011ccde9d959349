"""`stagecraft dev`: the app on this machine behind HTTPS dev domains.

plan.py builds every generated file and process spec (pure); providers.py turns the backend and
frontend blocks into dev processes; the other modules each run one real piece (mkcert, the hosts
file, docker compose, processes) and session.py puts them together with a clean teardown.
"""
