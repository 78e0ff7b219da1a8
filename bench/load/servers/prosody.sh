#!/bin/sh
# Debian's Prosody 0.12 beside tsjabberd, for bench/load: c2s on 127.0.0.1:5422, domain localhost.
#   prosody.sh install   apt-get install prosody (the package's own service is not used)
#   prosody.sh start     render prosody.cfg.lua into the run directory, start, print the pid for --pid
#   prosody.sh stop | pid | status
# Prosody refuses to run as root: started by root, it runs as the prosody user (setpriv execs it, so the
# pid is Prosody's own).
set -eu
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
RUN=$BASE/prosody

case ${1:-} in
  install)
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends prosody
    ;;
  start)
    command -v prosody >/dev/null || { echo "Prosody is not installed: $0 install" >&2; exit 1; }
    if alive "$(cat "$RUN/prosody.pid" 2>/dev/null || true)"; then
      echo "Prosody is already running, pid $(cat "$RUN/prosody.pid")"
      exit 0
    fi
    mkdir -p "$RUN/data"
    rm -f "$RUN/prosody.log"
    make_cert "$RUN"
    render "$HERE/prosody.cfg.lua" "$RUN/prosody.cfg.lua" "$RUN"
    as=''
    if [ "$(id -u)" = 0 ]; then
      chown -R prosody:prosody "$RUN"
      as='setpriv --reuid prosody --regid prosody --init-groups --'
    fi
    # shellcheck disable=SC2086
    nohup $as prosody --config "$RUN/prosody.cfg.lua" -F > "$RUN/prosody.out" 2>&1 &
    echo $! > "$RUN/prosody.pid"
    for _ in $(seq 1 40); do
      ss -ltn 2>/dev/null | grep -q '127.0.0.1:5422 ' && break
      alive "$(cat "$RUN/prosody.pid")" || { cat "$RUN/prosody.out" >&2; echo "Prosody did not start" >&2; exit 1; }
      sleep 0.25
    done
    echo "Prosody $(dpkg-query -W -f '${Version}' prosody 2>/dev/null) running: c2s 127.0.0.1:5422, domain localhost, pid $(cat "$RUN/prosody.pid") (run directory $RUN)"
    ;;
  stop)
    stop_pid "$RUN/prosody.pid" Prosody
    ;;
  pid)
    cat "$RUN/prosody.pid"
    ;;
  status)
    if alive "$(cat "$RUN/prosody.pid" 2>/dev/null || true)"; then echo "Prosody is running, pid $(cat "$RUN/prosody.pid")"
    else echo "Prosody is not running"; exit 3; fi
    ;;
  *)
    echo "usage: $0 install|start|stop|pid|status" >&2
    exit 64
    ;;
esac
