# Runs redis-server with append-only persistence in /data. The password comes from REDIS_PASSWORD and goes
# into a config file only this user can read, never onto the command line.
set -eu
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
umask 077
conf=/tmp/redis.conf
printf 'bind 0.0.0.0\nport 6379\ndir /data\nappendonly yes\nprotected-mode no\nrequirepass "%s"\n' \
  "$REDIS_PASSWORD" > "$conf"
exec redis-server "$conf"
