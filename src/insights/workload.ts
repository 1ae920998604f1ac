// Workload identity: maps an event (or alert output_fields) to the workload it belongs to, so that
// runtime insights aggregate per Kubernetes owner (Deployment, StatefulSet, DaemonSet/Job) when a
// pod is known, else per container, else per host. The id is stable and URL-safe:
// `k8s:<namespace>:<kind>:<name>`, `container:<id12>`, `host:<hostname>`.

export interface Workload {
  id: string;
  kind: string; // deployment | statefulset | daemonset-or-job | cronjob | pod | container | host
  name: string;
  namespace?: string;
}

// ReplicaSet pod: <deployment>-<rs hash (pod-template-hash alphabet)>-<5 chars>.
const RS_POD = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{6,10}-[a-z0-9]{5}$/;
const CRONJOB_POD = /^(.+)-\d{8,}-[a-z0-9]{5}$/;
const STS_POD = /^(.+)-\d+$/;
const DS_POD = /^(.+)-[bcdfghjklmnpqrstvwxz2456789]{5}$/;

/** Derives the owning workload of a pod from its name (the Kubernetes naming conventions). */
export function podOwner(pod: string, labels?: Record<string, unknown>): { kind: string; name: string } {
  const explicit = labels?.['app.kubernetes.io/instance'] ?? undefined;
  let m: RegExpExecArray | null;
  if ((m = CRONJOB_POD.exec(pod))) return { kind: 'cronjob', name: m[1]! };
  if ((m = RS_POD.exec(pod))) return { kind: 'deployment', name: m[1]! };
  if ((m = STS_POD.exec(pod))) return { kind: 'statefulset', name: m[1]! };
  if ((m = DS_POD.exec(pod))) return { kind: 'daemonset-or-job', name: m[1]! };
  if (typeof explicit === 'string' && explicit) return { kind: 'pod', name: pod };
  return { kind: 'pod', name: pod };
}

export function workloadOf(
  ns: string | undefined,
  pod: string | undefined,
  containerId: string | undefined,
  containerName: string | undefined,
  hostname: string | undefined,
  labels?: Record<string, unknown>,
): Workload {
  if (ns && pod) {
    const o = podOwner(pod, labels);
    return { id: `k8s:${ns}:${o.kind}:${o.name}`, kind: o.kind, name: o.name, namespace: ns };
  }
  if (containerId && containerId !== 'host') {
    return { id: `container:${containerId}`, kind: 'container', name: containerName || containerId };
  }
  const h = hostname || 'unknown';
  return { id: `host:${h}`, kind: 'host', name: h };
}
