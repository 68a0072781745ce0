#!/usr/bin/env bash
# Installs everything the tests and the demo need on a fresh Debian machine.
# Idempotent: each part is skipped when already present.
set -euo pipefail
need_apt=()
for pair in gpg:gnupg faketime:faketime svnadmin:subversion mariadbd:mariadb-server \
            mysqldump:mariadb-client pg_dump:postgresql-client gzip:gzip tar:tar \
            pigz:pigz promtool:prometheus; do
  cmd=${pair%%:*}; pkg=${pair#*:}
  command -v "$cmd" >/dev/null 2>&1 || need_apt+=("$pkg")
done
[ -x /usr/lib/postgresql/15/bin/initdb ] || ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
[ -f /usr/lib/x86_64-linux-gnu/faketime/libfaketimeMT.so.1 ] || need_apt+=(faketime)
if [ ${#need_apt[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
  # the packaged servers must not keep running in the background: tests start their own
  (service mariadb stop; service postgresql stop; service prometheus stop) >/dev/null 2>&1 || true
fi
# moto in a virtual environment under target/ (system Pythons refuse `pip install`);
# the tests find it there (or through S3NAPBACK_MOTO_PYTHON).
bash "$(dirname "$0")/moto-env.sh" >/dev/null
# Garage: the S3 server that strips leading '/' from keys (the tests prove we cope).
# Not packaged for Debian; building it takes about 12 minutes on 2 cores.
if ! command -v garage >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/garage" ]; then
  cargo install garage --locked --version 2.5.0
fi
# cargo-deb: scripts/package.sh builds the Debian package with it (a few minutes, once).
if ! command -v cargo-deb >/dev/null 2>&1 && [ ! -x "$HOME/.cargo/bin/cargo-deb" ]; then
  cargo install cargo-deb --locked
fi
