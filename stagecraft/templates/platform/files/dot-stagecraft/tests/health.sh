#!/usr/bin/env bash
# Run by `stagecraft deploy` after every host rolled: the frontend answers and the API reaches PostgreSQL
# and Redis (GET /api/status is 503 otherwise). A non-zero exit fails the release and puts the hosts back.
set -euo pipefail

for url in ${STAGECRAFT_URLS:?no public URL: is the app role public?}; do
  curl -fsS -o /dev/null --max-time 10 --retry 5 --retry-delay 1 --retry-all-errors "$url/"
  status=$(curl -fsS --max-time 10 --retry 5 --retry-delay 1 --retry-all-errors "$url/api/status")
  echo "$url: $status"
done
