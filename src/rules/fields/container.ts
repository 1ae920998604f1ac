// Rules engine, field class `container`: container metadata (what Falco's container plugin
// provides; Vigil's sensor fills it from the runtime's state). container.id is "host" on the host.
import type { FieldDef } from '../types.ts';
import { field } from './define.ts';
import { getter, nsDiff, nsString, rawGetter } from './util.ts';

const start = getter('container.start_ts');
const evTime = getter('evt.time');

export const containerFields: FieldDef[] = [
  field('container.id', 'string', 'container id (12 hex chars) or "host"', () => getter('container.id')),
  field('container.full_id', 'string', 'full container id', () => getter('container.full_id')),
  field('container.name', 'string', 'container name', () => getter('container.name')),
  field('container.image', 'string', 'container image (repository:tag)', () => getter('container.image')),
  field('container.image.id', 'string', 'container image id', () => getter('container.image.id')),
  field('container.image.repository', 'string', 'container image repository', () => getter('container.image.repository')),
  field('container.image.tag', 'string', 'container image tag', () => getter('container.image.tag')),
  field('container.image.digest', 'string', 'container image digest', () => getter('container.image.digest')),
  field('container.type', 'string', 'container runtime: docker, containerd, cri-o, podman...', () => getter('container.type')),
  field('container.privileged', 'bool', 'true for privileged containers', () => getter('container.privileged')),
  field('container.ip', 'ipaddr', 'container IP address', () => getter('container.ip')),
  field('container.start_ts', 'abstime', 'container start time (ns since epoch)', () => start),
  field('container.duration', 'reltime', 'ns since the container started', () => (ev) => {
    const s = nsString(start(ev));
    const t = nsString(evTime(ev));
    return s === undefined || t === undefined ? undefined : nsDiff(t, s);
  }),
  field(
    'container.label',
    'string',
    'a container label by key (container.label[KEY])',
    (arg) => {
      const labels = rawGetter('container.labels');
      const key = arg ?? '';
      return (ev) => {
        const l = labels(ev);
        if (l === null || typeof l !== 'object') return undefined;
        const v = (l as Record<string, unknown>)[key];
        return v === undefined || v === null || typeof v === 'object' ? undefined : (v as string);
      };
    },
    { arg: 'key' },
  ),
];
