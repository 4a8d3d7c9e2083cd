#!/usr/bin/env bash
# Installs scim2-tester (pinned) into a virtual environment, starts a fresh
# scimd on SQLite, runs every check, and fails when any check fails.
# Uses target/debug/scimd (built by `cargo test`) unless SCIMD_BINARY is set.
set -euo pipefail
cd "$(dirname "$0")/.."

SCIM2_TESTER="scim2-tester[httpx2]==0.5.2"
venv=target/conformance-venv
if ! "$venv/bin/python" -c "import scim2_tester, httpx2" 2>/dev/null; then
  python3 -m venv "$venv"
  "$venv/bin/pip" install --quiet --disable-pip-version-check "$SCIM2_TESTER"
fi

binary=${SCIMD_BINARY:-target/debug/scimd}
[ -x "$binary" ] || cargo build --locked --bin scimd

work=$(mktemp -d)
pid=""
cleanup() {
  [ -n "$pid" ] && kill "$pid" 2>/dev/null && wait "$pid" 2>/dev/null
  rm -rf "$work"
}
trap cleanup EXIT

RUST_LOG=scimd=info "$binary" --database-url "sqlite://$work/scimd.db?mode=rwc" \
  serve --listen 127.0.0.1:0 >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 100); do
  grep -q "scimd is listening" "$work/err" && break
  sleep 0.1
done
if ! grep -q "scimd is listening" "$work/err"; then
  echo "scimd did not start:" >&2
  cat "$work/err" >&2
  exit 1
fi

base=$(awk '/SCIM base URL/ {print $4}' "$work/out")
token=$(awk '/SCIM token/ {print $3}' "$work/out")
SCIM_BASE="$base" SCIM_TOKEN="$token" "$venv/bin/python" conformance/scim2_tester_check.py
