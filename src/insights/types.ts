// Runtime insight shapes: per-workload summaries and the network, file, process, capability,
// policy and rule entries of one workload. Owned by insights; the store builds them from its
// tables and the API serves them (src/server/api/schemas.ts mirrors them as response schemas).

export interface WorkloadSummary {
  id: string;
  kind: string;
  name: string;
  namespace: string | null;
  hosts: string[];
  containers: number;
  events: number;
  denied: number;
  first_seen: string;
  last_seen: string;
}

export interface NetEntry {
  direction: 'ingress' | 'egress';
  peer: string | null;
  port: number | null;
  protocol: string | null;
  allowed: number;
  denied: number;
  first_seen: string;
  last_seen: string;
  policies: string[];
}
export interface FileEntry {
  path: string;
  operation: string;
  count: number;
  denied: number;
  last_seen: string;
  collapsed?: number; // number of children folded into `path` (a directory, ending in /*)
  policies: string[];
}
export interface ProcEntry {
  exe: string | null;
  parent: string | null;
  count: number;
  denied: number;
  last_seen: string;
  policies: string[];
}
export interface CapEntry {
  name: string;
  granted: number;
  denied: number;
  count: number;
  last_seen: string;
}
export interface PolicyEntry {
  policy: string;
  action: string | null;
  rule: string | null;
  count: number;
  last_seen: string;
}
export interface RuleEntry {
  rule: string;
  priority: string | null;
  count: number;
  last_seen: string;
}
export interface WorkloadInsights extends WorkloadSummary {
  network: NetEntry[];
  files: FileEntry[];
  processes: ProcEntry[];
  capabilities: CapEntry[];
  policies: PolicyEntry[];
  rules: RuleEntry[];
}
