#!/usr/bin/env bash
# Make sure the services the tests use are up: PostgreSQL on 127.0.0.1:5432 with trust auth for
# local TCP connections and a database `test`. A machine without PostgreSQL gets Debian's
# package (as root); one whose server is stopped gets it started. A container registry on
# 127.0.0.1:5000 (Debian's docker-registry, no login) for `trainyard deploy`'s tests.
set -uo pipefail
URL_USER=postgres
installed_here=no
if ! command -v pg_ctlcluster >/dev/null 2>&1 && [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
  echo "installing postgresql (apt-get)" >&2
  if ! apt-get install -y -qq postgresql >/dev/null 2>&1; then
    apt-get update -qq >/dev/null 2>&1
    apt-get install -y -qq postgresql >/dev/null 2>&1 || echo "could not install postgresql" >&2
  fi
  installed_here=yes
fi
if command -v pg_isready >/dev/null 2>&1 && ! pg_isready -q -h 127.0.0.1 -p 5432; then
  if command -v pg_ctlcluster >/dev/null 2>&1; then
    version=$(ls /etc/postgresql 2>/dev/null | sort -n | tail -n1)
    if [ -z "$version" ]; then
      version=$(ls /usr/lib/postgresql 2>/dev/null | sort -n | tail -n1)
      [ -n "$version" ] && pg_createcluster "$version" main >/dev/null 2>&1
      installed_here=yes
    fi
    if [ -n "$version" ] && [ "$installed_here" = yes ]; then
      # A cluster made here: local TCP connections need no password (as on the dev machines).
      hba=/etc/postgresql/$version/main/pg_hba.conf
      grep -q "^host all all 127.0.0.1/32 trust" "$hba" 2>/dev/null ||
        sed -i '1i host all all 127.0.0.1/32 trust' "$hba"
    fi
    [ -n "$version" ] && pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
  fi
  for _ in $(seq 20); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
fi
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  if ! psql -h 127.0.0.1 -U "$URL_USER" -d test -Atc "select 1" >/dev/null 2>&1; then
    psql -h 127.0.0.1 -U "$URL_USER" -d postgres -qc "CREATE DATABASE test" >/dev/null 2>&1 ||
      echo "PostgreSQL answers, but the database test could not be made" >&2
  fi
else
  echo "PostgreSQL is not reachable: its tests will be skipped" >&2
fi

# The registry: started in the background when nothing answers on :5000 (it may already run as a
# service). Debian's own config.yml asks for an htpasswd login; this one has none.
answers() { (exec 3<>/dev/tcp/127.0.0.1/5000) 2>/dev/null; }
if ! answers && [ -x /usr/bin/docker-registry ]; then
  state=${TRAINYARD_REGISTRY_DIR:-/var/tmp/trainyard-registry}
  mkdir -p "$state/data"
  cat >"$state/config.yml" <<YAML
version: 0.1
log: {level: warn}
storage:
  filesystem: {rootdirectory: $state/data}
  delete: {enabled: true}
http: {addr: 127.0.0.1:5000}
YAML
  nohup setsid /usr/bin/docker-registry serve "$state/config.yml" >"$state/log" 2>&1 </dev/null &
  for _ in $(seq 20); do answers && break; sleep 0.25; done
  answers || echo "the registry on 127.0.0.1:5000 did not start (see $state/log)" >&2
fi
exit 0
