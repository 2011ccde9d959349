#!/usr/bin/env bash
# Run by `stagecraft deploy` after every host rolled: is the app up? A non-zero exit fails the release
# and puts the hosts back on the previous one. STAGECRAFT_URLS: every public URL of the environment.
set -euo pipefail

if [ -z "${STAGECRAFT_URLS:-}" ]; then
  echo "no public URL in $STAGECRAFT_ENV (no role is public): nothing to check"
  exit 0
fi
for url in $STAGECRAFT_URLS; do
  # Any answer below 500 counts: a 404 on / still proves the proxy and the app answer.
  code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 --retry 5 --retry-delay 1 --retry-all-errors "$url/") || true
  if [ "${code:-000}" -ge 500 ] || [ "${code:-000}" = 000 ]; then
    echo "$url/ answered ${code:-nothing}" >&2
    exit 1
  fi
  echo "$url/ answered $code"
done
