// Seq range bookkeeping for exactly-once ingest: the (sensor, seq) ranges already stored, kept
// merged and sorted; a record whose seq falls in a stored range is a duplicate. Ranges outlive the
// rows themselves (retention deletes rows, not ranges), so a late resend is still recognised.

export type Range = [number, number];

/** Sorted, merged, non-overlapping seq ranges per sensor. */
export class RangeSet {
  r: Range[] = [];
  has(x: number): boolean {
    let lo = 0,
      hi = this.r.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      const [a, b] = this.r[mid]!;
      if (x < a) hi = mid - 1;
      else if (x > b) lo = mid + 1;
      else return true;
    }
    return false;
  }
  add(a: number, b: number): void {
    this.r.push([a, b]);
    this.r.sort((x, y) => x[0] - y[0]);
    const out: Range[] = [];
    for (const cur of this.r) {
      const last = out[out.length - 1];
      if (last && cur[0] <= last[1] + 1) last[1] = Math.max(last[1], cur[1]);
      else out.push([cur[0], cur[1]]);
    }
    this.r = out;
  }
  max(): number {
    return this.r.length ? this.r[this.r.length - 1]![1] : 0;
  }
}

/** Splits sorted seqs into contiguous [first, last] runs. */
export function runsOf(seqs: number[]): Range[] {
  const runs: Range[] = [];
  if (seqs.length === 0) return runs;
  seqs = [...seqs].sort((a, b) => a - b);
  let start = seqs[0]!,
    prev = start;
  for (let i = 1; i < seqs.length; i++) {
    const s = seqs[i]!;
    if (s === prev + 1) prev = s;
    else {
      runs.push([start, prev]);
      start = prev = s;
    }
  }
  runs.push([start, prev]);
  return runs;
}
