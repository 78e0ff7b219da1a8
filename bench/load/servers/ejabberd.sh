#!/bin/sh
# Debian's ejabberd 23.01 beside tsjabberd, for bench/load: c2s on 127.0.0.1:5322, domain localhost.
#   ejabberd.sh install   apt-get install ejabberd (the package's own service is not used)
#   ejabberd.sh start     render ejabberd.yml into the run directory, start, print the pid for --pid
#   ejabberd.sh stop | pid | status
# Runs as root (then as the ejabberd user, see AS below) or as the ejabberd user.
set -eu
. "$(cd "$(dirname "$0")" && pwd)/lib.sh"
RUN=$BASE/ejabberd
NODE=bench-ejabberd@localhost

# As root, become the ejabberd user with setpriv rather than letting ejabberdctl call su: su's PAM session
# sets the open-files limit back to 1024, and ejabberd then refuses connections beyond about 980.
AS=''
[ "$(id -u)" = 0 ] && AS="setpriv --reuid ejabberd --regid ejabberd --init-groups -- env HOME=$RUN"
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true

ctl() {
  # shellcheck disable=SC2086
  $AS ejabberdctl --config-dir "$RUN" --ctl-config "$RUN/ejabberdctl.cfg" --config "$RUN/ejabberd.yml" \
    --spool "$RUN/spool" --logs "$RUN/logs" --node "$NODE" "$@"
}

case ${1:-} in
  install)
    apt-get update
    DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends ejabberd
    ;;
  start)
    command -v ejabberdctl >/dev/null || { echo "ejabberd is not installed: $0 install" >&2; exit 1; }
    if [ -f "$RUN/ejabberd.pid" ] && alive "$(cat "$RUN/ejabberd.pid")"; then
      echo "ejabberd is already running, pid $(cat "$RUN/ejabberd.pid")"
      exit 0
    fi
    mkdir -p "$RUN/spool" "$RUN/logs"
    make_cert "$RUN"
    render "$HERE/ejabberd.yml" "$RUN/ejabberd.yml" "$RUN"
    render "$HERE/ejabberdctl.cfg" "$RUN/ejabberdctl.cfg" "$RUN"
    cp /etc/ejabberd/inetrc "$RUN/inetrc"
    [ "$(id -u)" = 0 ] && chown -R ejabberd:ejabberd "$RUN"
    ctl start
    ctl started || { echo "ejabberd did not start; see $RUN/logs" >&2; exit 1; }
    echo "ejabberd $(dpkg-query -W -f '${Version}' ejabberd 2>/dev/null) running: c2s 127.0.0.1:5322, domain localhost, pid $(cat "$RUN/ejabberd.pid") (run directory $RUN)"
    ;;
  stop)
    if ctl status >/dev/null 2>&1; then
      ctl stop >/dev/null
      ctl stopped
      echo "ejabberd stopped"
    else
      echo "ejabberd is not running"
    fi
    rm -f "$RUN/ejabberd.pid"
    ;;
  pid)
    cat "$RUN/ejabberd.pid"
    ;;
  status)
    ctl status
    ;;
  *)
    echo "usage: $0 install|start|stop|pid|status" >&2
    exit 64
    ;;
esac
