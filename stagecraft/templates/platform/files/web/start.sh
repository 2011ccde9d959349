# Serves /www on port 8080 with /health for the healthcheck. The shell stays PID 1 and forwards TERM/INT
# to httpd: PID 1 gets no default signal handlers, so httpd as PID 1 would make every `docker stop` wait.
/bin/busybox mkdir -p /tmp
echo ok > /www/health
/bin/busybox httpd -f -p 8080 -h /www &
httpd=$!
trap '/bin/busybox kill -TERM "$httpd"; wait "$httpd"; exit 0' TERM INT
wait "$httpd"
