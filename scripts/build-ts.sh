#!/usr/bin/env bash
# Compiles src/ to JavaScript in dist/ (tsconfig.build.json) for bin/vigil. The one build step for
# the TypeScript: `make build` runs it, and bin/vigil runs it when src/ changed since the last build.
# Emits into build/dist.tmp, then swaps it in, so a failed compile leaves the previous dist/ whole.
# dist/.stamp carries the time the compile STARTED: a source saved during it counts as newer.
# Serialised with flock: concurrent callers (parallel tests) compile once.
set -euo pipefail
cd "$(dirname "$0")/.."
mkdir -p build
exec 9>build/.dist.lock
flock 9
# another caller may have finished the compile while this one waited for the lock
if [ -e dist/.stamp ] && [ -z "$(find src tsconfig.build.json tsconfig.json -newer dist/.stamp -print -quit)" ]; then
  exit 0
fi
touch build/.dist-start
rm -rf build/dist.tmp
node_modules/.bin/tsc -p tsconfig.build.json --outDir build/dist.tmp
mv build/.dist-start build/dist.tmp/.stamp
rm -rf build/dist.old
[ -e dist ] && mv dist build/dist.old
mv build/dist.tmp dist
rm -rf build/dist.old
