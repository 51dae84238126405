#!/usr/bin/env bash
# A throw-away PostgreSQL cluster for the tests: `.ci/postgres.sh start DIR` initdb's one in
# DIR as a non-root user, starts it on a free localhost port and prints the URL of a fresh
# database (export it as STORYLINE_TEST_PG); `.ci/postgres.sh stop DIR` stops it and
# removes DIR. Uses Debian's postgresql package (/usr/lib/postgresql/*/bin).
set -euo pipefail
action=${1:?start or stop}
dir=${2:?a folder for the cluster}
bin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)
[ -n "$bin" ] || { echo "no PostgreSQL server installed (apt-get install postgresql)" >&2; exit 1; }
# The server refuses to run as root: run it as the postgres system user then.
as_user() {
  if [ "$(id -u)" -eq 0 ]; then runuser -u "${PG_USER:-postgres}" -- "$@"; else "$@"; fi
}
case "$action" in
start)
  mkdir -p "$dir"
  [ "$(id -u)" -ne 0 ] || chown "${PG_USER:-postgres}" "$dir"
  port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_user "$bin/initdb" -D "$dir/data" -U storyline -A trust --no-sync -E UTF8 >"$dir/initdb.log"
  as_user "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w \
    -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200" start \
    >/dev/null
  as_user "$bin/createdb" -h 127.0.0.1 -p "$port" -U storyline storyline_test
  echo "postgresql://storyline@127.0.0.1:$port/storyline_test"
  ;;
stop)
  [ -d "$dir/data" ] && as_user "$bin/pg_ctl" -D "$dir/data" -m fast -w stop >/dev/null || true
  rm -rf "$dir"
  ;;
*) echo "usage: $0 start|stop DIR" >&2; exit 2 ;;
esac
