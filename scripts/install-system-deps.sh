#!/usr/bin/env bash
# System tools the tests and benchmarks drive: wrk (load), chromium (the /docs page),
# redis-server (the shared rate-limit backend's test starts its own on 127.0.0.1),
# npm (installs the MCP conformance suite and its Node 22, see install-conformance.sh).
#
# Missing ones are installed with apt-get, as root (directly, or through sudo), after a
# line that says so. CONDUIT_NO_APT=1 skips the installation. Where apt-get is not
# available (or root is not), this prints what to install and carries on: the tests that
# need a missing tool skip with a reason, except under CI (CI set), where every tool must
# be present and a missing one stops the run here, before the tests start.
set -euo pipefail
missing=()
command -v wrk >/dev/null || missing+=(wrk)
command -v chromium >/dev/null || missing+=(chromium)
command -v redis-server >/dev/null || missing+=(redis-server)
command -v npm >/dev/null || missing+=(npm)
[ ${#missing[@]} -eq 0 ] && exit 0

cannot_install() {  # $1: why
    echo "conduit: missing system tools: ${missing[*]} ($1)." >&2
    echo "conduit: install them with your package manager (Debian/Ubuntu: apt-get install ${missing[*]};" \
         "macOS: brew install wrk chromium redis node), then rerun." >&2
    if [ -n "${CI:-}" ]; then
        echo "conduit: CI needs every tool; stopping before the tests." >&2
        exit 1
    fi
    echo "conduit: continuing; the tests that need them will be skipped with a reason." >&2
    exit 0
}

[ -n "${CONDUIT_NO_APT:-}" ] && cannot_install "CONDUIT_NO_APT is set"
command -v apt-get >/dev/null || cannot_install "apt-get is not available on this machine"
if [ "$(id -u)" = 0 ]; then SUDO=""
elif command -v sudo >/dev/null && sudo -n true 2>/dev/null; then SUDO="sudo"
else cannot_install "installing them needs root, and sudo is not available without a password"
fi
echo "conduit: installing Debian packages as root with apt-get: ${missing[*]} (CONDUIT_NO_APT=1 skips this)" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
