#!/usr/bin/env bash
# Checks retain's Parquet output with DuckDB (an independent reader): column
# types on every table, and on CDNOW master the cohort, KPI and RFM tables
# against SQL computed from the input; and the views `retain views` prints.
# Then Polars (../polars) reads every table as a hive-partitioned dataset.
# Run from anywhere; `make test` runs it.
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cd "$here"
# npm ci rejects a lock that lists only this platform's optional binding;
# install from package.json and the lock without rewriting either.
[ -d node_modules/@duckdb/node-api ] || npm install --no-audit --no-fund --no-save --loglevel=error
cd "$repo"
go build -o bin/retain ./cmd/retain
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

bin/retain run --job testdata/cdnow_master/job.yaml --run-date 1998-06-30 --output "$work/cdnow" 2>/dev/null >/dev/null
node "$here/check.mjs" "$work/cdnow" 1998-06-30 testdata/cdnow_master/input/orders.csv 180

bin/retain gen --customers 3000 --out "$work/shop" --end-date 2026-11-22 >/dev/null
# Two nights, so the views check sees _latest leave the older one out.
bin/retain run --job jobs/nightly.yaml --input "$work/shop" --output "$work/out" --run-date 2026-11-21 2>/dev/null >/dev/null
bin/retain run --job jobs/nightly.yaml --input "$work/shop" --output "$work/out" --run-date 2026-11-22 2>/dev/null >/dev/null
node "$here/check.mjs" "$work/out" 2026-11-22 --shop "$work/shop"
bin/retain views --output "$work/out" > "$work/views.sql"
node "$here/views.mjs" "$work/views.sql" "$work/out" 2026-11-22

# Polars, from npm like DuckDB. nodejs-polars runs on Node 20, but its
# platform binding (nodejs-polars-<platform>) declares Node 22 or later, and
# npm then skips that optional dependency without a word: it is installed by
# name when the package alone does not load.
polars="$repo/scripts/polars"
cd "$polars"
[ -d node_modules/nodejs-polars ] || npm install --no-audit --no-fund --no-save --loglevel=error
if ! node -e "require('nodejs-polars')" 2>/dev/null; then
  platform="$(node -p 'const r = process.report.getReport().header; process.platform + "-" + process.arch + (process.platform === "linux" ? (r.glibcVersionRuntime ? "-gnu" : "-musl") : "")')"
  version="$(node -p "require('./node_modules/nodejs-polars/package.json').version")"
  npm install --no-audit --no-fund --no-save --loglevel=error "nodejs-polars-$platform@$version"
fi
cd "$repo"
node "$polars/check.mjs" "$work/out"
