#!/usr/bin/env bash
# A throw-away PostgreSQL server for the journal tests (docs/journal.md): a fresh cluster in a temporary folder,
# run by a non-root user, listening on 127.0.0.1 only, on a free port, with trust authentication (loopback only).
#
#   env=$(bash .ci/postgres.sh start [--install]) && eval "$env"   # exports WAN26_TEST_POSTGRES_URL and _DIR
#   bash .ci/postgres.sh stop "$WAN26_TEST_POSTGRES_DIR"
#
# --install: apt-get install postgresql when no server binaries are found (CI runs as root on a fresh Debian).
# WAN26_TEST_POSTGRES_BIN: the folder of pg_ctl/initdb, when they are somewhere else.
# Fails (exit 1, the reason on stderr) rather than leaving the tests without a server.
set -euo pipefail

die() { echo "postgres.sh: $*" >&2; exit 1; }

find_bin() {
  if [[ -n "${WAN26_TEST_POSTGRES_BIN:-}" ]]; then echo "$WAN26_TEST_POSTGRES_BIN"; return; fi
  local dir
  dir=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)
  if [[ -n "$dir" && -x "$dir/pg_ctl" ]]; then echo "$dir"; return; fi
  if command -v pg_ctl >/dev/null 2>&1; then dirname "$(command -v pg_ctl)"; return; fi
}

as_owner() {  # initdb and the server refuse to run as root: use the postgres system user then
  if [[ $(id -u) == 0 ]]; then runuser -u postgres -- "$@"; else "$@"; fi
}

start() {
  local bin
  bin=$(find_bin)
  if [[ -z "$bin" && "${1:-}" == "--install" ]]; then
    [[ $(id -u) == 0 ]] || die "no PostgreSQL server binaries found and not root: install the postgresql package"
    echo "postgres.sh: installing postgresql (apt-get)" >&2
    { apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends postgresql; } >&2 \
      || die "apt-get install postgresql failed"
    bin=$(find_bin)
  fi
  [[ -n "$bin" && -x "$bin/pg_ctl" && -x "$bin/initdb" ]] \
    || die "no PostgreSQL server binaries (pg_ctl, initdb) found: install the postgresql package or set WAN26_TEST_POSTGRES_BIN"
  if [[ $(id -u) == 0 ]]; then id postgres >/dev/null 2>&1 || die "running as root, but there is no 'postgres' user to run the server"; fi
  local dir port
  dir=$(mktemp -d "${TMPDIR:-/tmp}/wan26-postgres.XXXXXX")
  chmod 700 "$dir"
  if [[ $(id -u) == 0 ]]; then chown postgres: "$dir"; fi
  port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  as_owner "$bin/initdb" -D "$dir/data" -U wan26 --auth=trust -E UTF8 --no-sync >"$dir/initdb.log" 2>&1 \
    || { cat "$dir/initdb.log" >&2; die "initdb failed in $dir"; }
  if ! as_owner "$bin/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
      -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c synchronous_commit=off -c max_connections=200" \
      >"$dir/pg_ctl.log" 2>&1; then
    cat "$dir/pg_ctl.log" "$dir/server.log" >&2 2>/dev/null || true
    die "the server did not start (data in $dir)"
  fi
  echo "export WAN26_TEST_POSTGRES_URL=postgresql://wan26@127.0.0.1:$port/postgres"
  echo "export WAN26_TEST_POSTGRES_DIR=$dir"
  echo "export WAN26_TEST_POSTGRES_BIN=$bin"
}

stop() {
  local dir=${1:-${WAN26_TEST_POSTGRES_DIR:-}}
  [[ -n "$dir" && -d "$dir/data" ]] || die "stop: give the folder that start printed (WAN26_TEST_POSTGRES_DIR)"
  local bin
  bin=${WAN26_TEST_POSTGRES_BIN:-$(find_bin)}
  as_owner "$bin/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
  rm -rf "$dir"
}

case "${1:-}" in
  start) shift; start "$@" ;;
  stop) shift; stop "$@" ;;
  *) die "usage: postgres.sh start [--install] | stop DIR" ;;
esac
