#!/usr/bin/env bash
# Run by `stagecraft deploy` after tests/health.sh: a task goes in through the API (PostgreSQL, Redis)
# and the worker completes it (Redis, PostgreSQL), all across hosts. A non-zero exit fails the release
# and puts the hosts back on the previous one.
set -euo pipefail

url=${STAGECRAFT_URL:?no public URL: is the app role public?}
created=$(curl -fsS --max-time 10 -X POST -H 'Content-Type: application/json' \
  -d "{\"title\": \"smoke test of $STAGECRAFT_VERSION\"}" "$url/api/tasks")
id=$(printf '%s' "$created" | sed -n 's/.*"id": *\([0-9][0-9]*\).*/\1/p')
if [ -z "$id" ]; then
  echo "POST $url/api/tasks answered: $created" >&2
  exit 1
fi
for _ in $(seq 1 30); do
  task=$(curl -fsS --max-time 10 "$url/api/tasks/$id")
  if printf '%s' "$task" | grep -q '"status": *"done"'; then
    echo "task $id done: $task"
    exit 0
  fi
  sleep 1
done
echo "task $id was not done after 30 s: $task" >&2
exit 1
