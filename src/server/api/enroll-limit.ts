// Enrollment brute-force guard: counts failed enrollment attempts (bad, used or expired tokens)
// per client address over a sliding window, and refuses further attempts from an address that
// reached the limit until its oldest failure leaves the window (HTTP 429 with Retry-After).
// Successful enrollments never count, so a fleet enrolling from behind one NAT is not throttled.
// Bounded: at most `maxClients` addresses are tracked; the oldest is forgotten (and counted) first.

export interface EnrollLimitOptions {
  /** failures allowed per address within the window (default 10) */
  maxFailures?: number;
  /** window length in ms (default 60 s) */
  windowMs?: number;
  /** addresses tracked at most (default 10,000) */
  maxClients?: number;
  /** called for each address forgotten because the table was full (counted in metrics) */
  onEvict?: () => void;
}

export class EnrollFailureLimiter {
  private readonly failures = new Map<string, number[]>();
  private readonly max: number;
  private readonly windowMs: number;
  private readonly maxClients: number;
  private readonly onEvict: () => void;

  constructor(o: EnrollLimitOptions = {}) {
    this.max = o.maxFailures ?? 10;
    this.windowMs = o.windowMs ?? 60_000;
    this.maxClients = o.maxClients ?? 10_000;
    this.onEvict = o.onEvict ?? (() => {});
  }

  /** 0 when `addr` may try now, else the ms until it may. */
  check(addr: string, now = Date.now()): number {
    const ts = this.recent(addr, now);
    return ts.length < this.max ? 0 : ts[0]! + this.windowMs - now;
  }

  /** Records a failed attempt from `addr`. */
  fail(addr: string, now = Date.now()): void {
    const ts = this.recent(addr, now);
    ts.push(now);
    this.failures.delete(addr); // re-insert: Map order is then least recently failed first
    this.failures.set(addr, ts);
    while (this.failures.size > this.maxClients) {
      this.failures.delete(this.failures.keys().next().value!);
      this.onEvict();
    }
  }

  private recent(addr: string, now: number): number[] {
    const ts = this.failures.get(addr) ?? [];
    while (ts.length && ts[0]! <= now - this.windowMs) ts.shift();
    return ts;
  }
}
