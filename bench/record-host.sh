#!/usr/bin/env bash
# Helper of `make bench` (not a benchmark): records real events of this host for the benchmarks that
# need them (backend-ingest reads $VIGIL_BENCH_EVENTS): `vigil run --output json` for SECONDS (default
# 20) while a mixed workload runs (opens, execs, shell pipelines, connects), written to FILE.
# Usage: bench/record-host.sh FILE [SECONDS]   (root: the sensor needs it)
set -eu
out="$1"
secs="${2:-20}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$repo"
timeout -s INT "$secs" ./bin/vigil run --output json > "$out" 2> "$out.err" &
rec=$!
sleep 4
end=$(( $(date +%s) + secs - 6 ))
while [ "$(date +%s)" -lt "$end" ]; do
  for _ in $(seq 1 50); do
    cat /etc/hostname /etc/os-release > /dev/null
    ls /usr/bin > /dev/null
    sh -c 'echo x | tr x y > /dev/null'
    (exec 3<> /dev/tcp/127.0.0.1/9) 2> /dev/null || true
  done
done
wait "$rec" || true
# the last line may be cut by the stop: keep whole lines only
python3 - "$out" <<'PY'
import json, sys
p = sys.argv[1]
lines = open(p, encoding='utf-8', errors='surrogateescape').read().split('\n')
good = []
for l in lines:
    if not l:
        continue
    try:
        json.loads(l)
        good.append(l)
    except ValueError:
        pass
open(p, 'w', encoding='utf-8', errors='surrogateescape').write('\n'.join(good) + '\n')
print(f'{p}: {len(good)} events')
PY
