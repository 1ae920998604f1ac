#!/usr/bin/env bash
# Idempotent set-up for a fresh machine: installs only the Debian packages that are missing, then
# the npm dependencies when package-lock.json changed since the last install. Safe to run often.
set -euo pipefail
cd "$(dirname "$0")/.."

# Build and test tool chain, container runtime, and the real servers the tests and benchmarks start.
pkgs=(clang llvm libbpf-dev libelf-dev zlib1g-dev bpftool make gcc pkg-config
      runc busybox-static iproute2 procps util-linux bsdutils curl openssh-client e2fsprogs auditd
      redis-server redis-tools postgresql nats-server)
[ -n "${VIGIL_BOOTSTRAP_EXTRA:-}" ] && pkgs+=(${VIGIL_BOOTSTRAP_EXTRA})

missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "bootstrap: installing ${missing[*]}"
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  # Debian starts these services on install; Vigil's tests start their own instances.
  for s in redis-server postgresql nats-server; do
    (command -v systemctl >/dev/null && $sudo_cmd systemctl stop "$s" >/dev/null 2>&1) || true
    $sudo_cmd service "$s" stop >/dev/null 2>&1 || true
  done
fi

# `npm install` honours package-lock.json like `npm ci`, but npm 11 refuses `npm ci` for this lock
# file: it omits other platforms' optional DuckDB binding packages and then calls them missing.
stamp=node_modules/.vigil-lock-stamp
if [ ! -f "$stamp" ] || ! cmp -s package-lock.json "$stamp"; then
  echo "bootstrap: npm install (from package-lock.json)"
  npm install --no-audit --no-fund --loglevel=error
  cp package-lock.json "$stamp"
fi
