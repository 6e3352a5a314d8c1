#!/usr/bin/env bash
# Fails when the committed Action bundle (dist/) is not what the sources build:
# the workflow runs dist/index.js, so a stale bundle would run old code.
set -euo pipefail
cd "$(dirname "$0")/.."
NODE="${NODE:-node_modules/.bin/node}"
[ -x "$NODE" ] || NODE=node
"$NODE" scripts/bundle.mjs
if ! git diff --exit-code --stat -- dist/; then
  echo "dist/ is stale: run 'npm run bundle' and commit dist/." >&2
  exit 1
fi
if [ -n "$(git ls-files --others --exclude-standard -- dist/)" ]; then
  echo "dist/ has files that are not committed:" >&2
  git ls-files --others --exclude-standard -- dist/ >&2
  exit 1
fi
echo "dist/ is current."
