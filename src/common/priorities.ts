// Alert priorities (Falco's eight levels), shared by the rules engine (rule priority, minimum
// priority of a run), the selftest report and the store (priority filter, priority_num column).
// One list, Falco's order and spelling: index 0 is the most severe (Emergency), as in Falco's
// falco_common::priority_type; the store's ascending rank is derived from it.

export const PRIORITIES = ['Emergency', 'Alert', 'Critical', 'Error', 'Warning', 'Notice', 'Informational', 'Debug'] as const;
export type Priority = (typeof PRIORITIES)[number];

/** Falco's parse_priority: case-insensitive, INFO is an alias of INFORMATIONAL. */
export function parsePriority(s: string): Priority | undefined {
  const u = s.trim().toLowerCase();
  if (u === 'info') return 'Informational';
  return PRIORITIES.find((p) => p.toLowerCase() === u);
}

/** Ascending severity rank as the store keeps it (priority_num): Debug 0 ... Emergency 7; 0 when null or unknown. */
export function priorityNum(p: string | null): number {
  if (!p) return 0;
  const known = parsePriority(p);
  return known === undefined ? 0 : PRIORITIES.length - 1 - PRIORITIES.indexOf(known);
}
