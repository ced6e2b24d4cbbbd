#!/usr/bin/env bash
# Install the Debian packages the tests run for real (no mocks): PostgreSQL and Chromium.
# Idempotent: installs only what is missing. Needs root (or sudo) only when something is missing.
set -euo pipefail

need=()
compgen -G "/usr/lib/postgresql/*/bin/initdb" > /dev/null || need+=(postgresql)
command -v chromium > /dev/null || need+=(chromium)
command -v promtool > /dev/null || need+=(prometheus)

if ((${#need[@]} == 0)); then
  exit 0
fi

echo "system-deps: installing ${need[*]} (Debian packages)"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo > /dev/null; then SUDO="sudo"; else
    echo "system-deps: need root to install ${need[*]}; run: apt-get install -y ${need[*]}" >&2
    exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" > /dev/null
# The Debian postgresql package starts a cluster on 5432; tests start their own, so stop it.
if [[ " ${need[*]} " == *" postgresql "* ]] && command -v pg_ctlcluster > /dev/null; then
  $SUDO pg_ctlcluster --force "$(ls /usr/lib/postgresql | sort -n | tail -1)" main stop 2> /dev/null || true
fi
