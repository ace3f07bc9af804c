#!/bin/sh
# Entrypoint of the mongodb addon image: FerretDB v1 with its SQLite backend, configured
# from the official mongo image's variables, which Shipway's mongodb addon sets.
#
# MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD (both or neither) turn on
# FerretDB's SCRAM authentication (--test-enable-new-auth: SCRAM-SHA-256 and SCRAM-SHA-1,
# what drivers use by default) and create that user in the "admin" database when that
# database does not exist yet (--setup-*), so `mongodb://USER:PASSWORD@HOST/DB?authSource=admin`
# works as with mongo. Without them FerretDB runs with no authentication, as mongo does.
# MONGO_INITDB_DATABASE needs nothing: databases are created by their first write.
# The rest is FerretDB's own FERRETDB_* settings, set in the image: data in /data/db,
# listening on 0.0.0.0:27017, telemetry off.
set -eu

case ${1:-} in
  -*) set -- ferretdb "$@" ;;
esac

if [ "${1:-}" = ferretdb ]; then
  user=${MONGO_INITDB_ROOT_USERNAME:-} password=${MONGO_INITDB_ROOT_PASSWORD:-}
  if [ -n "$user" ] && [ -n "$password" ]; then
    export FERRETDB_TEST_ENABLE_NEW_AUTH=true
    export FERRETDB_SETUP_DATABASE=admin
    export FERRETDB_SETUP_USERNAME="$user"
    export FERRETDB_SETUP_PASSWORD="$password"
  elif [ -n "$user" ] || [ -n "$password" ]; then
    echo "docker-entrypoint.sh: error: set both MONGO_INITDB_ROOT_USERNAME and MONGO_INITDB_ROOT_PASSWORD, or neither" >&2
    exit 1
  fi
fi
exec "$@"
