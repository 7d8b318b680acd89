#!/usr/bin/env bash
# Installed size of Conduit core and of Conduit with the ML extras, each from `pip install`
# into a clean venv (the Docker images cannot be built here; this is what their
# site-packages holds). Prints one Markdown row per variant. Usage:
#   bash scripts/measure_install_size.sh [python]
set -euo pipefail
PY=${1:-python3}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
row() {  # name, pip arguments...
  local name=$1; shift
  "$PY" -m venv "$WORK/$name"
  "$WORK/$name/bin/pip" install --quiet --no-compile "$@" >/dev/null
  local site
  site=$("$WORK/$name/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')
  # pip and setuptools come with every venv (and with the python base image): leave them out.
  local total pipsize
  total=$(du -sm "$site" | cut -f1)
  pipsize=$(du -smc "$site"/pip "$site"/pip-* "$site"/setuptools "$site"/setuptools-* "$site"/_distutils_hack \
            "$site"/pkg_resources 2>/dev/null | tail -1 | cut -f1)
  local count
  count=$("$WORK/$name/bin/pip" list --format=freeze 2>/dev/null | grep -vc -E '^(pip|setuptools)==')
  echo "| $name | $((total - pipsize)) MB | $count |"
}
echo "| variant | site-packages (without pip/setuptools) | distributions |"
echo "|---|---|---|"
row core "$ROOT/kernels" "$ROOT"
row full "$ROOT/kernels" "$ROOT[ml,vector]"
