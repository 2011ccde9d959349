# Healthy when Redis answers PING with the password (REDISCLI_AUTH keeps it off the command line).
[ "$(REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --no-auth-warning ping 2>/dev/null)" = PONG ]
