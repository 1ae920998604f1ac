// Runtime insight shapes: per-workload summaries and the network, file, process, capability,
// policy and rule entries of one workload. Owned by insights and written once, as TypeBox schemas:
// the TypeScript types are derived from them (the store builds these values from its tables) and
// the API uses the same schemas as its response schemas and in the generated OpenAPI document.
// A schema with a `title` becomes a named component of the OpenAPI document.
import { Type, type Static } from '@sinclair/typebox';

const Nullable = <T extends ReturnType<typeof Type.String> | ReturnType<typeof Type.Integer>>(t: T) => Type.Union([t, Type.Null()]);
const Time = (description: string) => Type.String({ description: `${description} (RFC 3339, ns precision)` });
const Count = (description?: string) => Type.Integer({ minimum: 0, ...(description ? { description } : {}) });
const Policies = Type.Array(Type.String(), { description: 'policies that decided on these events' });

export const WorkloadSummary = Type.Object(
  {
    id: Type.String({ description: 'k8s:<namespace>:<kind>:<name>, container:<id> or host:<hostname>', examples: ['k8s:prod:deployment:api'] }),
    kind: Type.String({ description: 'deployment | statefulset | daemonset-or-job | cronjob | pod | container | host' }),
    name: Type.String(),
    namespace: Nullable(Type.String()),
    hosts: Type.Array(Type.String()),
    containers: Count(),
    events: Count(),
    denied: Count('events denied by a policy'),
    first_seen: Time('first event'),
    last_seen: Time('last event'),
  },
  { title: 'WorkloadSummary' },
);
export type WorkloadSummary = Static<typeof WorkloadSummary>;

export const NetEntry = Type.Object({
  direction: Type.Union([Type.Literal('ingress'), Type.Literal('egress')]),
  peer: Nullable(Type.String()),
  port: Nullable(Type.Integer({ minimum: 0, maximum: 65535 })),
  protocol: Nullable(Type.String()),
  allowed: Count(),
  denied: Count(),
  first_seen: Time('first connection'),
  last_seen: Time('last connection'),
  policies: Policies,
});
export type NetEntry = Static<typeof NetEntry>;

export const FileEntry = Type.Object({
  path: Type.String({ description: 'a path, or dir/* when many children were folded into one entry' }),
  operation: Type.String(),
  count: Count(),
  denied: Count(),
  last_seen: Time('last access'),
  collapsed: Type.Optional(Count('number of children folded into `path` (a directory, ending in /*)')),
  policies: Policies,
});
export type FileEntry = Static<typeof FileEntry>;

export const ProcEntry = Type.Object({
  exe: Nullable(Type.String()),
  parent: Nullable(Type.String()),
  count: Count(),
  denied: Count(),
  last_seen: Time('last execution'),
  policies: Policies,
});
export type ProcEntry = Static<typeof ProcEntry>;

export const CapEntry = Type.Object({
  name: Type.String(),
  granted: Count(),
  denied: Count(),
  count: Count(),
  last_seen: Time('last check'),
});
export type CapEntry = Static<typeof CapEntry>;

export const PolicyEntry = Type.Object({
  policy: Type.String(),
  action: Nullable(Type.String()),
  rule: Nullable(Type.String()),
  count: Count(),
  last_seen: Time('last decision'),
});
export type PolicyEntry = Static<typeof PolicyEntry>;

export const RuleEntry = Type.Object({
  rule: Type.String(),
  priority: Nullable(Type.String()),
  count: Count(),
  last_seen: Time('last alert'),
});
export type RuleEntry = Static<typeof RuleEntry>;

export const WorkloadInsights = Type.Composite(
  [
    WorkloadSummary,
    Type.Object({
      network: Type.Array(NetEntry),
      files: Type.Array(FileEntry),
      processes: Type.Array(ProcEntry),
      capabilities: Type.Array(CapEntry),
      policies: Type.Array(PolicyEntry),
      rules: Type.Array(RuleEntry),
    }),
  ],
  { title: 'WorkloadInsights' },
);
export type WorkloadInsights = Static<typeof WorkloadInsights>;
