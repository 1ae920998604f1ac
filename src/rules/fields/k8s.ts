// Rules engine, field class `k8s`: pod metadata from the io.kubernetes.* container labels.
import type { FieldDef } from '../types.ts';
import { field } from './define.ts';
import { firstOf, getter, rawGetter } from './util.ts';

const labels = rawGetter('k8s.pod.labels');

export const k8sFields: FieldDef[] = [
  field('k8s.ns.name', 'string', 'Kubernetes namespace', () => getter('k8s.ns.name')),
  field('k8s.pod.name', 'string', 'Kubernetes pod name', () => getter('k8s.pod.name')),
  field('k8s.pod.uid', 'string', 'Kubernetes pod uid', () => getter('k8s.pod.uid')),
  field('k8s.pod.id', 'string', 'Kubernetes pod uid (legacy name)', () => firstOf(getter('k8s.pod.id'), getter('k8s.pod.uid'))),
  field('k8s.pod.ip', 'ipaddr', 'Kubernetes pod IP', () => getter('k8s.pod.ip')),
  field('k8s.pod.labels', 'string', 'Kubernetes pod labels as "(k1:v1,k2:v2)"', () => (ev) => {
    const l = labels(ev);
    if (typeof l === 'string') return l;
    if (l === null || typeof l !== 'object') return undefined;
    return (
      '(' +
      Object.entries(l as Record<string, unknown>)
        .map(([k, v]) => `${k}:${String(v)}`)
        .join(',') +
      ')'
    );
  }),
  field(
    'k8s.pod.label',
    'string',
    'a Kubernetes pod label by key (k8s.pod.label[KEY])',
    (arg) => (ev) => {
      const l = labels(ev);
      if (l === null || typeof l !== 'object') return undefined;
      const v = (l as Record<string, unknown>)[arg ?? ''];
      return v === undefined || v === null || typeof v === 'object' ? undefined : (v as string);
    },
    { arg: 'key' },
  ),
];
