#!/usr/bin/env bash
# Install the system packages trainyard needs (bubblewrap) and those `trainyard deploy`,
# `--executor container` and their tests use (podman, runc, busybox-static, docker-registry)
# when run as root; else say which.
set -euo pipefail
missing=()
command -v bwrap >/dev/null 2>&1 || missing+=(bubblewrap)
optional=()
command -v podman >/dev/null 2>&1 || optional+=(podman)
# `--executor container`: runc where crun cannot start containers (cgroup v1 hosts); the
# container tests build their image from busybox-static.
command -v runc >/dev/null 2>&1 || [ -x /usr/sbin/runc ] || optional+=(runc)
[ -x /bin/busybox ] || optional+=(busybox-static)
[ -x /usr/bin/docker-registry ] || optional+=(docker-registry)
wanted=("${missing[@]}" "${optional[@]}")
[ ${#wanted[@]} -eq 0 ] && exit 0
if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing ${wanted[*]} (apt-get)" >&2
  if ! apt-get install -y -qq "${wanted[@]}" >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq "${wanted[@]}" >/dev/null
  fi
elif [ ${#missing[@]} -gt 0 ]; then
  echo "trainyard needs: ${missing[*]}. Install it, e.g. 'sudo apt-get install ${missing[*]}'," >&2
  echo "or set TRAINYARD_ISOLATION=none to let steps share paths such as /tmp." >&2
  exit 1
else
  echo "note: \`trainyard deploy\` and its tests use ${optional[*]}:" \
    "'sudo apt-get install ${optional[*]}'" >&2
fi
