#!/usr/bin/env bash
# System tools the tests and benchmarks drive: wrk (load), chromium (the /docs page).
# Installs them with apt-get when missing (as root, or through sudo when available).
set -euo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v chromium >/dev/null || missing+=(chromium)
if [ ${#missing[@]} -gt 0 ]; then
    if [ "$(id -u)" = 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO=sudo; else
        echo "missing system packages: ${missing[*]} (install them with apt-get)" >&2; exit 1; fi
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
