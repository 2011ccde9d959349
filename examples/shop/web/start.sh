# Serves "shop <version>" on / and "ok" on /health (absent when APP_HEALTHY=false, so the healthcheck fails).
/bin/busybox mkdir -p /www /tmp
echo "shop ${APP_VERSION:-dev} from $(/bin/busybox hostname)" > /www/index.html
if [ "${APP_HEALTHY:-true}" = "true" ]; then
  echo ok > /www/health
fi
exec /bin/busybox httpd -f -p 8080 -h /www
