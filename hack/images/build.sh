#!/usr/bin/env bash
# Build (once, then cache) the root filesystem of an addon server image as one reproducible
# tar, since nothing may be pulled from Docker Hub here: redis and postgresql from Debian
# bookworm's packages, mongodb as FerretDB v1 (built from its Go module) with its SQLite
# backend. Each is a debootstrap minbase with the server, its user 999:999 and its data
# directory owned by that user; tests/integration/addon_images.py adds the image config
# and pushes it. Usage: build.sh redis|postgresql|mongodb
# Prints the tar's path on the last line; <tar>.version holds the server's version.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
export PATH="$PATH:/usr/local/go/bin"  # where Go's own archive installs it
# shellcheck source=hack/infra/base-rootfs.sh
. "$here/../infra/base-rootfs.sh"  # only defines SUITE, debian_mirror, scrub_rootfs, tar_rootfs

IMAGES_KEY=1               # bump to rebuild every addon image
FERRETDB_VERSION=v1.24.2   # the latest v1 on the Go module proxy (v2 needs DocumentDB)
POSTGRES_MAJOR=15          # bookworm's
ADDONS=${SHIPWAY_CACHE:-$HOME/.cache/shipway-ci}/addons

usage() { echo "usage: $0 redis|postgresql|mongodb" >&2; exit 2; }
log() { echo "images/build.sh: $*" >&2; }
die() { echo "images/build.sh: error: $*" >&2; exit 1; }

kind=${1:-}
case $kind in
  redis) user=redis home=/data packages=(redis-server) ;;
  postgresql) user=postgres home=/var/lib/postgresql packages=("postgresql-$POSTGRES_MAJOR" libnss-wrapper) ;;
  mongodb) user=mongodb home=/data/db packages=() ;;
  *) usage ;;
esac
# A change to the kind's files (its entrypoint) makes a new tar.
files_key=$(cat "$here/$kind"/* | sha256sum | cut -c1-12)
name=$kind-$SUITE-$IMAGES_KEY-$files_key
[ "$kind" = mongodb ] && name=$kind-ferretdb-$FERRETDB_VERSION-$SUITE-$IMAGES_KEY-$files_key
tar_path=$ADDONS/$name.tar

# Everything mounted under the work directory is unmounted before it is removed.
cleanup() {
  findmnt -rno TARGET | { grep "^$work/" || true; } | sort -r | xargs -r umount -l
  rm -rf --one-file-system "$work"
}

# Debian bookworm minbase, shared by the three images: debootstrap from the mirror apt uses.
minbase() {
  local out=$ADDONS/minbase-$SUITE-$IMAGES_KEY.tar mirror root=$work/minbase
  [ -f "$out" ] && { echo "$out"; return 0; }
  mirror=${SHIPWAY_DEBIAN_MIRROR:-$(debian_mirror)}
  [ -n "$mirror" ] || die "no '$SUITE' source in apt's config"
  mkdir -p "$ADDONS/debs"
  # shellcheck source=hack/lib/apt.sh
  . "$here/../lib/apt.sh"
  apt_need images/build.sh debootstrap=debootstrap
  log "debootstrap $SUITE minbase (about a minute)..."
  if ! debootstrap --variant=minbase --cache-dir="$ADDONS/debs" "$SUITE" "$root" "$mirror" \
      >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap failed"
  fi
  scrub_rootfs "$root"
  tar_rootfs "$root" "$work/minbase.tar"
  rm -rf --one-file-system "$root"
  mv "$work/minbase.tar" "$out"
  echo "$out"
}

# FerretDB's ferretdb command, built from its module like its release (version.txt written
# as its `task gen-version` does), static, cached by version.
ferretdb_binary() {
  local out=$ADDONS/bin/ferretdb-$FERRETDB_VERSION/ferretdb src=$work/ferretdb-src dir
  [ -x "$out" ] && { echo "$out"; return 0; }
  command -v go >/dev/null || die "Go is needed to build FerretDB"
  export GOCACHE=${GOCACHE:-$ADDONS/../go/build} GOMODCACHE=${GOMODCACHE:-$ADDONS/../go/mod}
  export GOFLAGS=-buildvcs=false GOTOOLCHAIN=local CGO_ENABLED=0
  dir=$(go mod download -json "github.com/FerretDB/FerretDB@$FERRETDB_VERSION" \
        | sed -n 's/^\t"Dir": "\(.*\)",$/\1/p')
  [ -d "$dir" ] || die "go mod download github.com/FerretDB/FerretDB@$FERRETDB_VERSION failed"
  cp -r "$dir" "$src" && chmod -R u+w "$src"
  echo "$FERRETDB_VERSION" >"$src/build/version/version.txt"
  mkdir -p "$(dirname "$out")"
  log "building FerretDB $FERRETDB_VERSION (minutes when cold; -p 1)..."
  (cd "$src" && go build -p 1 -trimpath -ldflags "-s -w" -o "$out.tmp" ./cmd/ferretdb) \
    >"$work/go-build.log" 2>&1 || { tail -n 30 "$work/go-build.log" >&2; die "building FerretDB failed"; }
  mv "$out.tmp" "$out"
  echo "$out"
}

in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 \
  DEBIAN_FRONTEND=noninteractive "$@"; }

# apt-get install PACKAGES in ROOT, with no daemon started and .debs kept in our cache.
install_packages() {
  local archives=$root/var/cache/apt/archives
  mkdir -p "$ADDONS/debs" "$archives"
  cp -l "$ADDONS/debs"/*.deb "$archives/" 2>/dev/null || true
  cp /etc/resolv.conf "$root/etc/resolv.conf"  # scrub_rootfs empties it again
  printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d" && chmod 755 "$root/usr/sbin/policy-rc.d"
  mount --bind /dev "$root/dev" && mount -t proc proc "$root/proc"
  log "apt-get install ${packages[*]}..."
  if ! { in_root apt-get update -qq &&
         in_root apt-get install -y -qq --no-install-recommends "${packages[@]}"; } \
      >"$work/apt.log" 2>&1; then
    tail -n 30 "$work/apt.log" >&2
    die "apt-get install ${packages[*]} failed"
  fi
  umount "$root/proc" "$root/dev"
  cp -n "$archives"/*.deb "$ADDONS/debs/" 2>/dev/null || true
  rm -f "$root/usr/sbin/policy-rc.d"
}

# What a server never reads, as Debian's slim images leave out: documentation (but the
# copyright files), manual pages and message translations.
slim_rootfs() {
  find "$root/usr/share/doc" -mindepth 1 -not -type d -not -name copyright -delete
  find "$root/usr/share/doc" -mindepth 1 -type d -empty -delete
  find "$root/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  rm -rf "$root"/usr/share/{man,info,groff,lintian,linda}/*
}

# The upstream version of a package: 5:7.0.15-1~deb12u5 -> 7.0.15.
# shellcheck disable=SC2016  # ${Version} is dpkg-query's, not the shell's
version_of() { in_root dpkg-query -W -f '${Version}\n' "$1" | sed -E 's/^[0-9]+://; s/[-+~].*//'; }

# Directories the server writes, owned by 999 (after scrub_rootfs, which empties /run).
own() { local mode=$1; shift; mkdir -p "$@"; chown 999:999 "$@"; chmod "$mode" "$@"; }

build() {
  local base bin
  base=$(minbase)
  root=$work/rootfs
  mkdir "$root"
  tar -C "$root" --extract --file "$base" --numeric-owner --same-owner --same-permissions
  # The user first, so the packages' postinst scripts find it (as the official images do).
  in_root groupadd --system --gid 999 "$user"
  in_root useradd --system --uid 999 --gid 999 --home-dir "$home" --no-create-home \
    --shell "$([ "$kind" = postgresql ] && echo /bin/bash || echo /usr/sbin/nologin)" "$user"
  [ ${#packages[@]} -eq 0 ] || install_packages
  install -m 755 "$here/$kind/docker-entrypoint.sh" "$root/usr/local/bin/docker-entrypoint.sh"
  slim_rootfs
  case $kind in
    redis)
      version_of redis-server >"$work/version"
      scrub_rootfs "$root"
      own 755 "$root/data"
      ;;
    postgresql)
      version_of "postgresql-$POSTGRES_MAJOR" >"$work/version"
      # The cluster Debian's postinst made, and the random snakeoil key of ssl-cert.
      rm -rf "$root/etc/postgresql/$POSTGRES_MAJOR/main" "$root/var/lib/postgresql/$POSTGRES_MAJOR"
      find "$root/etc/ssl" -name '*snakeoil*' -delete
      find "$root/etc/ssl/certs" -xtype l -delete
      # Like the official image: initdb's postgresql.conf listens on every address.
      sed -ri "s!^#?(listen_addresses)\s*=\s*\S+.*!\1 = '*'!" \
        "$root/usr/share/postgresql/$POSTGRES_MAJOR/postgresql.conf.sample"
      grep -q "^listen_addresses = '\*'" "$root/usr/share/postgresql/$POSTGRES_MAJOR/postgresql.conf.sample" \
        || die "listen_addresses not set in postgresql.conf.sample"
      scrub_rootfs "$root"
      own 755 "$root/var/lib/postgresql" "$root/docker-entrypoint-initdb.d"
      own 1777 "$root/var/lib/postgresql/data"
      own 3777 "$root/run/postgresql"
      ;;
    mongodb)
      echo "${FERRETDB_VERSION#v}" >"$work/version"
      bin=$(ferretdb_binary)
      install -m 755 "$bin" "$root/usr/local/bin/ferretdb"
      scrub_rootfs "$root"
      own 755 "$root/data" "$root/data/db"
      ;;
  esac
  tar_rootfs "$root" "$work/rootfs.tar"
  mv "$work/version" "$tar_path.version"
  mv "$work/rootfs.tar" "$tar_path"
  # Earlier builds of this kind are stale now.
  find "$ADDONS" -maxdepth 1 -name "$kind-*.tar*" -not -name "$name.tar*" -delete
}

mkdir -p "$ADDONS"
exec 9>"$ADDONS/.lock"
flock 9  # one build at a time; a second caller waits, then finds the cached tar
if [ ! -f "$tar_path" ] || [ ! -f "$tar_path.version" ]; then
  work=$(mktemp -d "$ADDONS/build.XXXXXX")
  trap cleanup EXIT
  start=$SECONDS
  build
  log "$kind built in $((SECONDS - start)) s"
fi
flock -u 9
echo "$tar_path"
