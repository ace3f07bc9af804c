# shellcheck shell=bash
# Sourced by the install scripts: apt_install WHO PACKAGE… installs Debian packages
# quietly (root needed), showing apt's log only when it fails.
apt_install() {
  local who=$1
  shift
  if [ "$(id -u)" -ne 0 ]; then
    echo "$who: need root to install $*" >&2
    return 1
  fi
  local log
  log=$(mktemp)
  if ! { DEBIAN_FRONTEND=noninteractive apt-get update -qq &&
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@"; } >"$log" 2>&1; then
    cat "$log" >&2
    rm -f "$log"
    echo "$who: apt-get failed installing $*" >&2
    return 1
  fi
  rm -f "$log"
  echo "$who: installed $*" >&2
}

# apt_need WHO COMMAND=PACKAGE…: install the packages whose command is missing (nothing,
# not even apt-get update, when all are there). Each script calls it for what it runs.
apt_need() {
  local who=$1 pair need=()
  shift
  for pair in "$@"; do
    PATH="$PATH:/usr/sbin:/sbin" command -v "${pair%%=*}" >/dev/null || need+=("${pair#*=}")
  done
  [ ${#need[@]} -eq 0 ] || apt_install "$who" "${need[@]}"
}
