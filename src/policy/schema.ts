// Policy document schemas (TypeBox -> JSON Schema), one per accepted kind: VigilPolicy
// (vigil.dev/v1alpha1), KubeArmorPolicy and KubeArmorHostPolicy (security.kubearmor.com/v1).
// The published schema (deploy/crds/vigilpolicy.schema.json) is `publishedSchema()`; it is written
// by `node --import tsx src/policy/write-schema.ts` and a test checks that the file is current.
// Structural checks live here (types, unknown keys, enums, ranges); semantic checks that need
// more than JSON Schema (CIDRs, what this host can enforce) live in validate.ts.
import { Type, type TSchema } from '@sinclair/typebox';

export const VIGIL_API = 'vigil.dev/v1alpha1';
export const KUBEARMOR_API = 'security.kubearmor.com/v1';
export const KINDS = {
  VigilPolicy: VIGIL_API,
  KubeArmorPolicy: KUBEARMOR_API,
  KubeArmorHostPolicy: KUBEARMOR_API,
} as const;
export type PolicyKind = keyof typeof KINDS;

const strict = { additionalProperties: false } as const;

const AbsPath = Type.String({ minLength: 1, pattern: '^/', description: 'an absolute path' });
const AbsDir = Type.String({ minLength: 1, pattern: '^/', description: 'an absolute directory path' });
const Action = Type.Union(
  [Type.Literal('Allow'), Type.Literal('Audit'), Type.Literal('Block'), Type.Literal('allow'), Type.Literal('audit'), Type.Literal('block')],
  {
    description: 'Allow|Audit|Block',
  },
);
const Severity = Type.Integer({ minimum: 1, maximum: 10 });
const Tags = Type.Array(Type.String());
const FromSource = Type.Array(Type.Object({ path: AbsPath }, strict), { minItems: 1 });

// Fields an entry may carry to override the policy-level ones (as KubeArmor allows).
const entryCommon = {
  action: Type.Optional(Action),
  severity: Type.Optional(Severity),
  message: Type.Optional(Type.String()),
  tags: Type.Optional(Tags),
};

const ProcPath = Type.Object({ path: AbsPath, ownerOnly: Type.Optional(Type.Boolean()), fromSource: Type.Optional(FromSource), ...entryCommon }, strict);
const ProcDir = Type.Object(
  { dir: AbsDir, recursive: Type.Optional(Type.Boolean()), ownerOnly: Type.Optional(Type.Boolean()), fromSource: Type.Optional(FromSource), ...entryCommon },
  strict,
);
const Pattern = Type.Object(
  { pattern: Type.String({ minLength: 1 }), ownerOnly: Type.Optional(Type.Boolean()), readOnly: Type.Optional(Type.Boolean()), ...entryCommon },
  strict,
);
const ProcessPart = Type.Object(
  {
    matchPaths: Type.Optional(Type.Array(ProcPath)),
    matchDirectories: Type.Optional(Type.Array(ProcDir)),
    matchPatterns: Type.Optional(Type.Array(Pattern)),
    ...entryCommon,
  },
  strict,
);
const FilePath = Type.Object(
  { path: AbsPath, readOnly: Type.Optional(Type.Boolean()), ownerOnly: Type.Optional(Type.Boolean()), fromSource: Type.Optional(FromSource), ...entryCommon },
  strict,
);
const FileDir = Type.Object(
  {
    dir: AbsDir,
    recursive: Type.Optional(Type.Boolean()),
    readOnly: Type.Optional(Type.Boolean()),
    ownerOnly: Type.Optional(Type.Boolean()),
    fromSource: Type.Optional(FromSource),
    ...entryCommon,
  },
  strict,
);
const FilePart = Type.Object(
  {
    matchPaths: Type.Optional(Type.Array(FilePath)),
    matchDirectories: Type.Optional(Type.Array(FileDir)),
    matchPatterns: Type.Optional(Type.Array(Pattern)),
    ...entryCommon,
  },
  strict,
);
const Protocol = Type.String({ pattern: '^(?:[Tt][Cc][Pp]|[Uu][Dd][Pp]|[Ii][Cc][Mm][Pp]|[Rr][Aa][Ww])$', description: 'TCP|UDP|ICMP|RAW (any case)' });
const ProtoEntry = Type.Object({ protocol: Protocol, fromSource: Type.Optional(FromSource), ...entryCommon }, strict);
const Port = Type.Union([Type.Integer({ minimum: 1, maximum: 65535 }), Type.String({ pattern: '^[0-9]{1,5}-[0-9]{1,5}$', description: 'port range a-b' })], {
  description: 'a port 1-65535 or a range "a-b"',
});
const L4 = Type.String({ pattern: '^(?:[Tt][Cc][Pp]|[Uu][Dd][Pp])$', description: 'TCP|UDP' });
const EgressEntry = Type.Object(
  { cidr: Type.Optional(Type.String({ minLength: 1 })), ports: Type.Optional(Type.Array(Port, { minItems: 1 })), protocol: Type.Optional(L4), ...entryCommon },
  strict,
);
const BindEntry = Type.Object(
  { cidr: Type.Optional(Type.String({ minLength: 1 })), ports: Type.Optional(Type.Array(Port, { minItems: 1 })), protocol: Type.Optional(L4), ...entryCommon },
  strict,
);
const KaNetworkPart = Type.Object({ matchProtocols: Type.Optional(Type.Array(ProtoEntry)), ...entryCommon }, strict);
const VigilNetworkPart = Type.Object(
  {
    matchProtocols: Type.Optional(Type.Array(ProtoEntry)),
    matchEgress: Type.Optional(Type.Array(EgressEntry)),
    matchBind: Type.Optional(Type.Array(BindEntry)),
    ...entryCommon,
  },
  strict,
);
const CapEntry = Type.Object({ capability: Type.String({ minLength: 1 }), fromSource: Type.Optional(FromSource), ...entryCommon }, strict);
const CapPart = Type.Object({ matchCapabilities: Type.Optional(Type.Array(CapEntry)), ...entryCommon }, strict);

const Labels = Type.Record(Type.String(), Type.String());
const Name = Type.String({ minLength: 1, maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', description: 'DNS-1123 name' });

const commonSpec = {
  severity: Type.Optional(Severity),
  tags: Type.Optional(Tags),
  message: Type.Optional(Type.String()),
  process: Type.Optional(ProcessPart),
  file: Type.Optional(FilePart),
  capabilities: Type.Optional(CapPart),
  action: Type.Optional(Action),
};

export const VigilPolicySchema = Type.Object(
  {
    apiVersion: Type.Literal(VIGIL_API),
    kind: Type.Literal('VigilPolicy'),
    metadata: Type.Object({ name: Name, namespace: Type.Optional(Name), labels: Type.Optional(Labels), annotations: Type.Optional(Labels) }, strict),
    spec: Type.Object(
      {
        selector: Type.Object({ matchLabels: Type.Optional(Labels), host: Type.Optional(Type.Boolean()) }, strict),
        network: Type.Optional(VigilNetworkPart),
        ...commonSpec,
      },
      strict,
    ),
  },
  { ...strict, $id: 'https://vigil.dev/schemas/v1alpha1/VigilPolicy', title: 'VigilPolicy' },
);

export const KubeArmorPolicySchema = Type.Object(
  {
    apiVersion: Type.Literal(KUBEARMOR_API),
    kind: Type.Literal('KubeArmorPolicy'),
    metadata: Type.Object({ name: Name, namespace: Type.Optional(Name), labels: Type.Optional(Labels), annotations: Type.Optional(Labels) }, strict),
    spec: Type.Object({ selector: Type.Object({ matchLabels: Type.Optional(Labels) }, strict), network: Type.Optional(KaNetworkPart), ...commonSpec }, strict),
  },
  { ...strict, $id: 'https://vigil.dev/schemas/v1alpha1/KubeArmorPolicy', title: 'KubeArmorPolicy (accepted subset)' },
);

export const KubeArmorHostPolicySchema = Type.Object(
  {
    apiVersion: Type.Literal(KUBEARMOR_API),
    kind: Type.Literal('KubeArmorHostPolicy'),
    metadata: Type.Object({ name: Name, labels: Type.Optional(Labels), annotations: Type.Optional(Labels) }, strict),
    spec: Type.Object(
      { nodeSelector: Type.Object({ matchLabels: Type.Optional(Labels) }, strict), network: Type.Optional(KaNetworkPart), ...commonSpec },
      strict,
    ),
  },
  { ...strict, $id: 'https://vigil.dev/schemas/v1alpha1/KubeArmorHostPolicy', title: 'KubeArmorHostPolicy (accepted subset)' },
);

export const kindSchemas: Record<PolicyKind, TSchema> = {
  VigilPolicy: VigilPolicySchema,
  KubeArmorPolicy: KubeArmorPolicySchema,
  KubeArmorHostPolicy: KubeArmorHostPolicySchema,
};

/** The JSON Schema published in deploy/crds/vigilpolicy.schema.json: one document of any accepted kind. */
export function publishedSchema(): Record<string, unknown> {
  const strip = (s: TSchema): Record<string, unknown> => JSON.parse(JSON.stringify(s)) as Record<string, unknown>;
  const defs: Record<string, unknown> = {};
  for (const [k, s] of Object.entries(kindSchemas)) {
    const d = strip(s);
    delete d.$id;
    defs[k] = d;
  }
  return {
    $schema: 'http://json-schema.org/draft-07/schema#',
    $id: 'https://vigil.dev/schemas/v1alpha1/policy.json',
    title: 'Vigil policy document (VigilPolicy, KubeArmorPolicy, KubeArmorHostPolicy)',
    description:
      'One YAML document of a Vigil policy file. Generated from src/policy/schema.ts; do not edit. Semantic checks (CIDR syntax, enforceability on the host) are documented in docs/policy.md.',
    definitions: defs,
    oneOf: Object.keys(defs).map((k) => ({ $ref: `#/definitions/${k}` })),
  };
}
