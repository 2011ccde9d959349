# Serves "shop <version>" on / and "ok" on /health (absent when APP_HEALTHY=false, so the healthcheck fails).
/bin/busybox mkdir -p /www /tmp
echo "shop ${APP_VERSION:-dev} from $(/bin/busybox hostname)" > /www/index.html
if [ "${APP_HEALTHY:-true}" = "true" ]; then
  echo ok > /www/health
fi
# PID 1 gets no default signal handlers, so httpd exec'd as PID 1 would ignore SIGTERM and every
# `docker stop` would wait out its timeout. The shell stays PID 1 and forwards TERM/INT instead.
/bin/busybox httpd -f -p 8080 -h /www &
httpd=$!
trap '/bin/busybox kill -TERM "$httpd"; wait "$httpd"; exit 0' TERM INT
wait "$httpd"
