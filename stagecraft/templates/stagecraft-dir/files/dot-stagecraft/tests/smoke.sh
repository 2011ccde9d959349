#!/usr/bin/env bash
# Run by `stagecraft deploy` after tests/health.sh: does the app work? A non-zero exit fails the release
# and puts the hosts back on the previous one. Replace the sample below with requests that exercise what
# matters (log in, read, write). STAGECRAFT_URL: the first public URL (e.g. http://203.0.113.10).
set -euo pipefail

# curl -fsS --max-time 10 "$STAGECRAFT_URL/api/status" | grep -q '"ok": true'
echo "smoke.sh: no checks yet (edit .stagecraft/tests/smoke.sh)"
