#!/bin/sh
# Entrypoint of the redis addon image, as the official image's for what Shipway uses: the
# command (redis-server ...) runs as given; options alone (`--appendonly yes`, or a .conf
# file first) start redis-server with them. The image runs as redis (999:999) already.
set -e
case ${1:-} in
  -* | *.conf) set -- redis-server "$@" ;;
esac
exec "$@"
