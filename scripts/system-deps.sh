#!/usr/bin/env bash
# Install the system packages trainyard needs (bubblewrap) when run as root; else say which.
set -euo pipefail
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${missing[*]} (apt-get)" >&2
  if ! apt-get install -y -qq "${missing[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
else
  echo "trainyard needs: ${missing[*]}. Install it, e.g. 'sudo apt-get install ${missing[*]}'," >&2
  echo "or set TRAINYARD_ISOLATION=none to let steps share paths such as /tmp." >&2
  exit 1
fi
