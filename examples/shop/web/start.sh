# Serves "shop <version> from <container>" on / (with what the database said when it started), "ok" on
# /health (absent when APP_HEALTHY=false, so the healthcheck fails) and, when SHOP_DATABASE_URL is set,
# /cgi-bin/orders: GET counts the orders in PostgreSQL, POST adds one (the database runs on another host).
/bin/busybox mkdir -p /www/cgi-bin /tmp
page="shop ${APP_VERSION:-dev} from $(/bin/busybox hostname)"
echo "$page" > /www/index.html
if [ "${APP_HEALTHY:-true}" = "true" ]; then
  echo ok > /www/health
fi
if [ -n "${SHOP_DATABASE_URL:-}" ]; then
  cat > /www/cgi-bin/orders <<'CGI'
#!/bin/busybox sh
export PGCONNECT_TIMEOUT=3
if [ "$REQUEST_METHOD" = POST ]; then
  sql="INSERT INTO orders (item, quantity) VALUES ('web', 1) RETURNING 'order ' || id || ' saved'"
else
  sql="SELECT count(*) || ' orders' FROM orders"
fi
if out=$(/bin/psql "$SHOP_DATABASE_URL" -qtAX -c "$sql" 2>&1); then
  printf 'Content-Type: text/plain\r\n\r\n%s\n' "$out"
else
  printf 'Status: 503\r\nContent-Type: text/plain\r\n\r\ndatabase: %s\n' "$(echo "$out" | /bin/busybox head -n 1)"
fi
CGI
  /bin/busybox chmod 755 /www/cgi-bin/orders
  # What the database says at start, on the page (in the background: never delays the health check).
  (REQUEST_METHOD=GET /www/cgi-bin/orders | /bin/busybox tail -n 1 > /tmp/db
   echo "$page; db: $(/bin/busybox cat /tmp/db)" > /tmp/index.html && /bin/busybox mv /tmp/index.html /www/index.html) &
fi
# PID 1 gets no default signal handlers, so httpd exec'd as PID 1 would ignore SIGTERM and every
# `docker stop` would wait out its timeout. The shell stays PID 1 and forwards TERM/INT instead.
/bin/busybox httpd -f -p 8080 -h /www &
httpd=$!
trap '/bin/busybox kill -TERM "$httpd"; wait "$httpd"; exit 0' TERM INT
wait "$httpd"
