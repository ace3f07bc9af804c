#!/usr/bin/env bash
# Build (once, then cache) a Debian root filesystem with Python 3 as one reproducible tar:
# a Python base image, made here with debootstrap because nothing may be pulled from
# Docker Hub. Usage: [BASE_SUITE=bookworm|trixie|sid] base-rootfs.sh [OUT_TAR]
# Each suite brings the CPython Debian ships in it: bookworm 3.11, trixie 3.13, sid 3.14.
# Prints the tar's path on the last line; writes the Python version to <tar>.python-version.
set -euo pipefail
export PATH="$PATH:/usr/sbin:/sbin"

KEY=1  # bump to rebuild every cached base
SUITE=${BASE_SUITE:-bookworm}
# sid's default python3 moves on: its image names its Python explicitly, and links it.
case $SUITE in
  sid) PYTHON=python3.14 ;;
  *) PYTHON=python3 ;;
esac
cache=${SHIPWAY_CACHE:-$HOME/.cache/shipway-ci}/base
tar_path=$cache/python-$SUITE-$KEY.tar
out=${1:-}

# The Debian mirror apt uses here (one-line *.list and deb822 *.sources), never hard-coded:
# the one listed for $SUITE, else the one serving any plain suite (a mirror has them all).
debian_mirror() {
  local files=() f
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && files+=("$f")
  done
  [ ${#files[@]} -gt 0 ] || return 0
  awk -v suite="$SUITE" '
    function flush() {
      if (!found && types ~ /(^| )deb( |$)/ && enabled !~ /^no$/ && uris != "") {
        split(uris, u, " ")
        if ((" " suites " ") ~ (" " suite " ")) { print u[1]; found = 1; exit }
        if (fallback == "" && suites ~ /(^| )[a-z]+( |$)/) fallback = u[1]
      }
      types = suites = uris = ""; enabled = "yes"
    }
    FNR == 1 { flush() }
    FILENAME ~ /\.sources$/ {
      if ($0 ~ /^[ \t]*$/) { flush(); next }
      if ($0 ~ /^#/) next
      key = tolower($1); sub(/^[^:]*:[ \t]*/, "")
      if (key == "types:") types = $0; else if (key == "suites:") suites = $0
      else if (key == "uris:") uris = $0; else if (key == "enabled:") enabled = tolower($0)
      next
    }
    $1 == "deb" {
      sub(/\[[^]]*\]/, ""); if ($3 == suite) { print $2; found = 1; exit }
      if (fallback == "" && $3 ~ /^[a-z]+$/) fallback = $2
    }
    END { flush(); if (!found && fallback != "") print fallback }
  ' "${files[@]}"
}

# No state of the build or of this host in ROOT: apt's lists and caches, logs, the
# host's resolv.conf/hostname/hosts, machine-id, "last changed" days in /etc/shadow.
scrub_rootfs() {
  local root=$1
  rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/* "$root"/var/cache/debconf/*-old \
    "$root"/var/lib/dpkg/*-old "$root"/var/cache/ldconfig/aux-cache "$root"/etc/*- \
    "$root"/tmp/* "$root"/var/tmp/* "$root"/run/* "$root"/root/.cache "$root"/etc/machine-id
  find "$root/var/log" -type f -delete
  find "$root" -xdev -name __pycache__ -type d -prune -exec rm -rf {} +
  sed -i -E 's/^([^:]*:[^:]*):[0-9]*:/\1::/' "$root/etc/shadow"  # drop "last changed" days
  rm -f "$root/etc/resolv.conf" "$root/etc/hostname" "$root/etc/hosts"  # the host's copies
  : >"$root/etc/resolv.conf"
  echo localhost >"$root/etc/hostname"
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  chmod 644 "$root/etc/resolv.conf" "$root/etc/hostname" "$root/etc/hosts"
}

# ROOT as one reproducible tar at OUT: sorted, numeric owners, mtime 0, no atime/ctime.
tar_rootfs() {
  # Owners stay as dpkg set them (root, but e.g. /etc/shadow and chage are group shadow).
  tar -C "$1" --create --file "$2" --format=posix --sort=name \
    --numeric-owner --mtime=@0 \
    --pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime \
    --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' .
}

includes() {
  local list=python3,python3-pip,python-is-python3,ca-certificates
  [ "$PYTHON" = python3 ] || list=$PYTHON,$list
  echo "$list"
}

build() {
  local mirror work root
  # shellcheck source=hack/lib/apt.sh
  . "$(dirname "${BASH_SOURCE[0]}")/../lib/apt.sh"
  apt_need base-rootfs.sh debootstrap=debootstrap
  mirror=${SHIPWAY_DEBIAN_MIRROR:-$(debian_mirror)}
  [ -n "$mirror" ] || { echo "base-rootfs.sh: no '$SUITE' source in apt's config" >&2; exit 1; }
  work=$(mktemp -d "$cache/build.XXXXXX")
  # shellcheck disable=SC2064  # expand $work now
  trap "findmnt -rno TARGET | { grep '^$work/' || true; } | sort -r | xargs -r umount -l; rm -rf --one-file-system '$work'" EXIT
  root=$work/rootfs
  mkdir -p "$cache/debs"
  echo "base-rootfs.sh: debootstrap $SUITE (about a minute)..." >&2
  if ! debootstrap --variant=minbase --cache-dir="$cache/debs" \
      --include="$(includes)" \
      "$SUITE" "$root" "$mirror" >"$work/debootstrap.log" 2>&1; then
    tail -n 30 "$work/debootstrap.log" >&2
    [ -f "$root/debootstrap/debootstrap.log" ] && tail -n 30 "$root/debootstrap/debootstrap.log" >&2
    exit 1
  fi
  if [ "$PYTHON" != python3 ]; then  # python and python3 name the suite's chosen Python
    ln -sf "/usr/bin/$PYTHON" "$root/usr/local/bin/python3"
    ln -sf "/usr/bin/$PYTHON" "$root/usr/local/bin/python"
  fi
  chroot "$root" /usr/bin/env PATH=/usr/local/bin:/usr/bin:/bin \
    python3 -c 'import platform; print(platform.python_version())' >"$work/python-version"

  # pip works like in the official python image; no state of this build or this host.
  rm -f "$root"/usr/lib/python3*/EXTERNALLY-MANAGED
  scrub_rootfs "$root"
  tar_rootfs "$root" "$work/rootfs.tar"
  mv "$work/python-version" "$tar_path.python-version"
  mv "$work/rootfs.tar" "$tar_path"
}

# Sourced (hack/images/build.sh does): only the functions above, nothing runs.
(return 0 2>/dev/null) && return 0

mkdir -p "$cache"
exec 9>"$cache/.lock-$SUITE"
flock 9  # one build at a time; a second caller waits, then finds the cached tar
if [ ! -f "$tar_path" ] || [ ! -f "$tar_path.python-version" ]; then build; fi
flock -u 9

if [ -n "$out" ] && [ "$out" != "$tar_path" ]; then
  mkdir -p "$(dirname "$out")"
  ln -f "$tar_path" "$out" 2>/dev/null || cp "$tar_path" "$out"
  cp "$tar_path.python-version" "$out.python-version"
  tar_path=$out
fi
echo "$tar_path"
