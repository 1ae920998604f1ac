// The event object: what the sensor emits, the rules engine evaluates, the transport ships and the
// store keeps. Nested so that every dotted path is the Falco field name (see docs/event-format.md).
// Fields without a value are absent, never null.

export type Scalar = string | number | boolean;
export interface FieldTree {
  [key: string]: Scalar | Scalar[] | FieldTree | undefined;
}

export interface VigilEvent extends FieldTree {
  evt: FieldTree & {
    num: number;
    time: string; // ns since epoch, decimal
    type: string;
    category: 'process' | 'file' | 'net' | 'priv';
    dir: '<';
    cpu: number;
    res: number;
    rawres: number;
    failed: boolean;
    arg: FieldTree;
    rawarg: FieldTree;
    truncated?: boolean;
    policy_decision?: boolean;
  };
  proc: FieldTree;
  thread: FieldTree;
  user: FieldTree;
  group: FieldTree;
  container: FieldTree & { id: string };
  fd?: FieldTree;
  k8s?: FieldTree;
  ns?: FieldTree;
  cgroup?: FieldTree;
  policy?: FieldTree;
}

/**
 * Reads a dotted Falco field path from an event; undefined when absent. Where a Falco field is a
 * prefix of another (`container.image` and `container.image.repository`), the longer one is kept
 * under a dotted key beside the shorter (`container["image.repository"]`), so at each level the
 * whole remaining path is tried as a key before descending. Not for hot paths.
 */
export function getField(ev: FieldTree, path: string): FieldTree[string] {
  const parts = path.split('.');
  let cur: unknown = ev;
  for (let i = 0; i < parts.length; i++) {
    if (cur === null || typeof cur !== 'object' || Array.isArray(cur)) return undefined;
    const obj = cur as FieldTree;
    if (i < parts.length - 1) {
      const rest = parts.slice(i).join('.');
      if (rest in obj) return obj[rest];
    }
    cur = obj[parts[i]!];
  }
  return cur as FieldTree[string];
}
