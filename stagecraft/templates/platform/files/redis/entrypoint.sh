# Runs redis-server as the redis user with append-only persistence in /data. The password comes from
# REDIS_PASSWORD and goes into a config file only redis can read, never onto the command line.
set -eu
: "${REDIS_PASSWORD:?REDIS_PASSWORD must be set}"
conf=/run/redis.conf
umask 077
{
  echo "bind 0.0.0.0"
  echo "port 6379"
  echo "dir /data"
  echo "appendonly yes"
  echo "protected-mode no"
  printf 'requirepass "%s"\n' "$REDIS_PASSWORD"
} > "$conf"
chown redis:redis "$conf" /data
exec runuser -u redis -- redis-server "$conf"
