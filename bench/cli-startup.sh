#!/usr/bin/env bash
# CLI start-up (README, "CLI start-up"): wall time of 7 cold runs (median, min-max) and files opened
# per call (successful open/openat of all threads, strace -f) of `vigil --help`, `vigil rules
# validate` on the stable Falco rules and `vigil run --help`. With a second checkout as argument
# (e.g. an older commit: git archive REV | tar -x -C DIR, node_modules and build linked), runs the
# two interleaved, so both sides see the same load.
# Usage: bash bench/cli-startup.sh [OTHER_CHECKOUT]
set -euo pipefail
here="$(cd "$(dirname "$0")/.." && pwd)"
rules="$here/../shared/falco/falco_rules.yaml"
sides=("$here"); [ $# -ge 1 ] && sides=("$(cd "$1" && pwd)" "$here")
calls=("--help" "rules validate $rules" "run --help")
command -v strace >/dev/null || { echo "cli-startup: needs strace (apt-get install strace)" >&2; exit 2; }
"$here/bin/vigil" --version >/dev/null   # compiles dist/ first if src/ changed
declare -A T
for i in 1 2 3 4 5 6 7; do
  for side in "${sides[@]}"; do
    for c in "${calls[@]}"; do
      s=$(date +%s%N); read -ra args <<<"$c"; "$side/bin/vigil" "${args[@]}" >/dev/null 2>&1; e=$(date +%s%N)
      T["$side|$c"]+="$(( (e - s) / 1000000 )) "
    done
  done
done
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg)"
for side in "${sides[@]}"; do
  for c in "${calls[@]}"; do
    read -ra args <<<"$c"
    sorted=($(printf '%s\n' ${T["$side|$c"]} | sort -n))
    out=$(mktemp); strace -f -e trace=openat,open -o "$out" "$side/bin/vigil" "${args[@]}" >/dev/null 2>&1 || true
    opens=$(grep -cE '(open(at)?\(|open(at)? resumed>).*\) += [0-9]+' "$out"); rm -f "$out"
    echo "$side: vigil ${c/$rules/falco_rules.yaml}: median ${sorted[3]} ms (${sorted[0]}-${sorted[6]}), files opened $opens"
  done
done
