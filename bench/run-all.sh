#!/usr/bin/env bash
# `make bench`: runs every benchmark under bench/ (each bench/*.ts that is a benchmark, not a
# helper module), one after the other, each under a timeout, continuing when one fails. Each
# benchmark's stdout+stderr goes to bench/results/<name>.log; a summary (status, duration, load
# average before/after) is printed and written to bench/results/run-all.md.
# Environment: BENCH_TIMEOUT (seconds per benchmark, default 1800; sensor-overhead 5400: one
# repetition of its 8 configurations × 5 workloads took 8.4 min at load 14–17 on this 2-core
# machine, so its 7 interleaved repetitions take ~60 min at such load, ~30 min on a quiet one),
# BENCH_ONLY (space-separated names to run, e.g. "sensor-overhead decode-throughput").
set -u
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/.." && pwd)"
results="$here/results"
timeout_s="${BENCH_TIMEOUT:-1800}"
mkdir -p "$results"
cd "$repo" || exit 1

# the preferred order first, then any other benchmark that exists; helper modules are skipped
order=(sensor-overhead decode-throughput rules-throughput replay-throughput recording backend-ingest fanotify-latency)
helpers=" backend-gen "
names=()
for n in "${order[@]}"; do [ -f "bench/$n.ts" ] && names+=("$n"); done
for f in bench/*.ts; do
  n="$(basename "$f" .ts)"
  case " ${order[*]} $helpers" in *" $n "*) continue ;; esac
  # a module that only exports (no top-level run) is a helper: it names itself one in its header
  head -3 "$f" | grep -qi 'generator\|helper' && continue
  names+=("$n")
done
if [ -n "${BENCH_ONLY:-}" ]; then
  sel=()
  for n in "${names[@]}"; do case " $BENCH_ONLY " in *" $n "*) sel+=("$n") ;; esac; done
  names=("${sel[@]}")
fi

summary="$results/run-all.md"
{
  echo "# make bench: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo
  echo "kernel $(uname -r), $(nproc) CPUs; timeout ${timeout_s}s per benchmark; logs in bench/results/<name>.log"
  echo
  echo "| benchmark | status | seconds | load before | load after |"
  echo "| --- | --- | ---: | --- | --- |"
} > "$summary"

failed=0
# backend-ingest measures with real events: record some of this host unless given a recording
if [ -z "${VIGIL_BENCH_EVENTS:-}" ] && [ "$(id -u)" = 0 ] && case " ${names[*]} " in *" backend-ingest "*) true ;; *) false ;; esac; then
  rec="$results/host-events.ndjson"
  echo "=== recording host events for backend-ingest -> $rec"
  if bench/record-host.sh "$rec" 20; then export VIGIL_BENCH_EVENTS="$rec"; fi
fi
for n in "${names[@]}"; do
  log="$results/$n.log"
  before="$(cut -d' ' -f1-3 /proc/loadavg)"
  echo "=== $n (load $before) -> $log"
  start=$(date +%s)
  t_s="$timeout_s"
  [ -z "${BENCH_TIMEOUT:-}" ] && [ "$n" = sensor-overhead ] && t_s=5400
  timeout --kill-after=30 "$t_s" node --import tsx "bench/$n.ts" > "$log" 2>&1
  rc=$?
  secs=$(( $(date +%s) - start ))
  after="$(cut -d' ' -f1-3 /proc/loadavg)"
  case $rc in
    0) status=ok ;;
    124|137) status="timeout (${t_s}s)"; failed=$((failed + 1)) ;;
    *) status="failed (exit $rc)"; failed=$((failed + 1)) ;;
  esac
  echo "=== $n: $status in ${secs}s (load after $after)"
  [ $rc -ne 0 ] && tail -n 15 "$log" | sed 's/^/    /'
  echo "| $n | $status | $secs | $before | $after |" >> "$summary"
done
echo
cat "$summary"
[ $failed -eq 0 ] || echo "$failed benchmark(s) failed; see their logs" >&2
exit $(( failed > 0 ))
