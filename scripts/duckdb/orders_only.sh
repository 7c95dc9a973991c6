#!/usr/bin/env bash
# Runs the DuckDB peer of the orders-only job (orders_only.mjs; arguments as
# it takes them), installing @duckdb/node-api into this folder first when it
# is missing. node replaces the shell, so a caller's rusage of this process
# is node's own: bench/job reads its peak RSS that way.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
if [ ! -d "$here/node_modules/@duckdb/node-api" ]; then
  # As run.sh: install from package.json and the lock without rewriting either.
  (cd "$here" && npm install --no-audit --no-fund --no-save --loglevel=error >&2)
fi
exec node "$here/orders_only.mjs" "$@"
