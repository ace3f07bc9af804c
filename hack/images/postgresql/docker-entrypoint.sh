#!/usr/bin/env bash
# Entrypoint of the postgresql addon image (Debian's postgresql-15): what the official
# postgres image's docker-entrypoint.sh does for the settings Shipway uses.
#   POSTGRES_PASSWORD (required on first start), POSTGRES_USER (default postgres),
#   POSTGRES_DB (default: the user's name), PGDATA, POSTGRES_HOST_AUTH_METHOD (default
#   scram-sha-256), POSTGRES_INITDB_ARGS; *.sh and *.sql in /docker-entrypoint-initdb.d.
# On the first start (no $PGDATA/PG_VERSION) it runs initdb as the current user (999, or
# any uid through nss_wrapper), sets the password, creates the database, lets network
# clients in with a password (listen_addresses '*' comes from the image's
# postgresql.conf.sample), then runs postgres; later starts only run postgres.
set -Eeuo pipefail

[ "${1:0:1}" = - ] && set -- postgres "$@"
[ "${1:-}" = postgres ] || exec "$@"

: "${PGDATA:?PGDATA must be set}"
export POSTGRES_USER=${POSTGRES_USER:-postgres}
export POSTGRES_DB=${POSTGRES_DB:-$POSTGRES_USER}

say() { echo "docker-entrypoint.sh: $*" >&2; }

# Started as root (docker run without --user): own the directories, then run as postgres.
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /var/run/postgresql
  chown postgres:postgres "$PGDATA" /var/run/postgresql
  chmod 700 "$PGDATA"
  exec setpriv --reuid=postgres --regid=postgres --init-groups "$0" "$@"
fi

mkdir -p "$PGDATA"
chmod 700 "$PGDATA" 2>/dev/null || true  # initdb wants 0700 (or 0750)

if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "${POSTGRES_PASSWORD:-}" ] && [ "${POSTGRES_HOST_AUTH_METHOD:-}" != trust ]; then
    say "error: the database is uninitialized and POSTGRES_PASSWORD is not set"
    exit 1
  fi
  # initdb needs a passwd entry for the current uid; give an unknown uid one, as the
  # official image does.
  if ! getent passwd "$(id -u)" >/dev/null; then
    NSS_WRAPPER_PASSWD=$(mktemp) NSS_WRAPPER_GROUP=$(mktemp)
    echo "postgres:x:$(id -u):$(id -g):PostgreSQL:$PGDATA:/bin/false" >"$NSS_WRAPPER_PASSWD"
    echo "postgres:x:$(id -g):" >"$NSS_WRAPPER_GROUP"
    export NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP
    export LD_PRELOAD=/usr/lib/x86_64-linux-gnu/libnss_wrapper.so
  fi
  say "initializing $PGDATA"
  # shellcheck disable=SC2086  # POSTGRES_INITDB_ARGS is a list of arguments
  initdb --username="$POSTGRES_USER" --pwfile=<(printf '%s\n' "${POSTGRES_PASSWORD:-}") \
    --auth-local=trust --auth-host="${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" \
    ${POSTGRES_INITDB_ARGS:-} >&2
  # Network clients: any address, with the password (local socket stays trusted).
  printf '\nhost all all all %s\n' "${POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >>"$PGDATA/pg_hba.conf"

  # A server only this script can reach (no TCP) for the set-up steps.
  pg_ctl -D "$PGDATA" -w -o "-c listen_addresses=''" start >&2
  sql() { psql -v ON_ERROR_STOP=1 --no-psqlrc --username "$POSTGRES_USER" --no-password "$@"; }
  if [ "$POSTGRES_DB" != postgres ]; then
    sql --dbname postgres --set db="$POSTGRES_DB" <<<'CREATE DATABASE :"db";' >&2
  fi
  for f in /docker-entrypoint-initdb.d/*; do
    [ -e "$f" ] || continue
    # shellcheck disable=SC1090  # the user's scripts
    case $f in
      *.sh) say "running $f"; if [ -x "$f" ]; then "$f"; else . "$f"; fi ;;
      *.sql) say "running $f"; sql --dbname "$POSTGRES_DB" -f "$f" >&2 ;;
      *) say "ignoring $f" ;;
    esac
  done
  pg_ctl -D "$PGDATA" -m fast -w stop >&2
  unset NSS_WRAPPER_PASSWD NSS_WRAPPER_GROUP LD_PRELOAD
  say "initialized; starting postgres"
fi

exec "$@"
