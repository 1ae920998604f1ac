// Time parameters of the query routes: RFC 3339, integer ns since epoch (kept as a string until
// here, then a bigint: never a double) or a duration ago. The schema checks the shape
// (schemas.ts TIME_PATTERN); this turns it into ns.
import { parseDuration } from '../../auth.ts';
import { rfc3339ToNs } from '../../../store/extract.ts';
import type { TimeRange } from '../../../store/types.ts';
import { FieldError } from '../errors.ts';

/** ns since epoch from an API time parameter: RFC 3339, integer ns, or a duration ago (15m, 2h). */
export function parseTimeParam(field: string, v: string): bigint {
  if (/^\d{12,19}$/.test(v)) return BigInt(v);
  if (/^\d+(\.\d+)?(ms|s|m|h|d|w)$/.test(v)) return BigInt(Date.now() - parseDuration(v)) * 1_000_000n;
  const ns = rfc3339ToNs(v);
  if (ns !== null) return ns;
  const ms = Date.parse(v);
  if (!Number.isNaN(ms) && /^\d{4}-\d{2}-\d{2}/.test(v)) return BigInt(ms) * 1_000_000n;
  throw new FieldError(field, 'RFC 3339 time, ns since epoch or a duration like 15m');
}

export function timeRange(q: { since?: string; until?: string }): TimeRange {
  const r: TimeRange = {};
  if (q.since) r.since = parseTimeParam('querystring.since', q.since);
  if (q.until) r.until = parseTimeParam('querystring.until', q.until);
  return r;
}

/** A repeated query parameter without its empty values (`rule=` means no filter). */
export function list(v: string[] | undefined): string[] | undefined {
  return v?.filter((x) => x !== '');
}
