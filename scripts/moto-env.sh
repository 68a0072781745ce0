#!/usr/bin/env bash
# Makes (once) a Python virtual environment with moto's S3 server under target/, so the
# demo and the tests work on a stock Debian/Ubuntu whose system Python refuses
# `pip install` (PEP 668). Prints the environment's python3 path.
# Usage: py=$(bash scripts/moto-env.sh)
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$PWD/target/moto-venv
py=$venv/bin/python3
if ! "$py" -c 'import moto.server, flask' >/dev/null 2>&1; then
  if ! /usr/bin/python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq --no-install-recommends python3-venv >/dev/null
  fi
  rm -rf "$venv"
  mkdir -p target
  /usr/bin/python3 -m venv "$venv" >&2
  "$py" -m pip install -q --disable-pip-version-check 'moto[server]' >&2
fi
echo "$py"
