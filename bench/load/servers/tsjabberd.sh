#!/bin/sh
# tsjabberd for bench/load, from this repository's build: c2s on 127.0.0.1:5222, domain localhost.
#   tsjabberd.sh start     start in the background in the run directory, print the pid for --pid
#   tsjabberd.sh register PREFIX N PASSWORD
#                          create PREFIX1..PREFIXN with the tsjabberd command (without in-band registration)
#   tsjabberd.sh stop | pid | status
# Build first (npm run build, or npx tsc -b packages/server).
set -eu
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
RUN=$BASE/tsjabberd
# TSJABBERD_CLI: another build's cli.js (another checkout, to compare versions).
CLI=${TSJABBERD_CLI:-$REPO/packages/server/dist/cli.js}

tsjabberd() {
  (cd "$RUN" && node "$CLI" "$@" --config "$HERE/tsjabberd.yml")
}

case ${1:-} in
  start)
    [ -f "$CLI" ] || { echo "$CLI is missing: build first (npx tsc -b packages/server)" >&2; exit 1; }
    if alive "$(cat "$RUN/tsjabberd.pid" 2>/dev/null || true)"; then
      echo "tsjabberd is already running, pid $(cat "$RUN/tsjabberd.pid")"
      exit 0
    fi
    mkdir -p "$RUN"
    cd "$RUN"
    nohup node "$CLI" start --config "$HERE/tsjabberd.yml" > "$RUN/tsjabberd.out" 2>&1 &
    echo $! > "$RUN/tsjabberd.pid"
    for _ in $(seq 1 40); do
      grep -q 'tsjabberd is running' "$RUN/tsjabberd.out" 2>/dev/null && break
      alive "$(cat "$RUN/tsjabberd.pid")" || { cat "$RUN/tsjabberd.out" >&2; echo "tsjabberd did not start" >&2; exit 1; }
      sleep 0.25
    done
    echo "tsjabberd running: c2s 127.0.0.1:5222, domain localhost, pid $(cat "$RUN/tsjabberd.pid") (run directory $RUN)"
    ;;
  register)
    [ $# -eq 4 ] || { echo "usage: $0 register PREFIX N PASSWORD" >&2; exit 64; }
    for i in $(seq 1 "$3"); do
      tsjabberd register "$2$i" localhost "$4" 2>&1 | grep -v 'already exists' || true
    done
    ;;
  stop)
    stop_pid "$RUN/tsjabberd.pid" tsjabberd
    ;;
  pid)
    cat "$RUN/tsjabberd.pid"
    ;;
  status)
    mkdir -p "$RUN"
    tsjabberd status
    ;;
  *)
    echo "usage: $0 start|register PREFIX N PASSWORD|stop|pid|status" >&2
    exit 64
    ;;
esac
