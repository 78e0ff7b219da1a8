# Shared by ejabberd.sh, prosody.sh and tsjabberd.sh (sourced, not run).
# Every server runs from its own directory under $BENCH_RUN_DIR (default /tmp/tsjabberd-bench):
# its rendered config, database, logs, pid file and a self-signed certificate. Nothing under /etc is touched.

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../../.." && pwd)
BASE=${BENCH_RUN_DIR:-/tmp/tsjabberd-bench}

# make_cert DIR: a self-signed certificate for localhost (DIR/cert.pem, DIR/key.pem), made once.
make_cert() {
  [ -f "$1/cert.pem" ] && return 0
  openssl req -x509 -newkey rsa:2048 -nodes -days 3650 -subj /CN=localhost \
    -addext subjectAltName=DNS:localhost -keyout "$1/key.pem" -out "$1/cert.pem" 2>/dev/null
}

# render TEMPLATE OUT DIR: copies a config from the repository with @RUN@ replaced by DIR.
render() {
  sed "s|@RUN@|$3|g" "$1" > "$2"
}

# alive PID: whether that process exists.
alive() {
  [ -n "$1" ] && kill -0 "$1" 2>/dev/null
}

# stop_pid PIDFILE NAME: SIGTERM, then wait up to 20 s (SIGKILL after that).
stop_pid() {
  pid=$(cat "$1" 2>/dev/null || true)
  if ! alive "$pid"; then
    echo "$2 is not running"
    rm -f "$1"
    return 0
  fi
  kill "$pid"
  for _ in $(seq 1 40); do
    alive "$pid" || break
    sleep 0.5
  done
  alive "$pid" && kill -9 "$pid"
  rm -f "$1"
  echo "$2 (pid $pid) stopped"
}
