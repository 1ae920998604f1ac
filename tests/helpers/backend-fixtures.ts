// Shared fixtures for the backend tests: builders of events and alerts in the Vigil event shape
// (docs/event-format.md) and in Falco json_output shape.
import { randomUUID } from 'node:crypto';

export const T0 = 1_700_000_000_000_000_000n; // ns

export interface EvOpts {
  num: number;
  time?: bigint;
  type?: string;
  category?: 'process' | 'file' | 'net' | 'priv';
  proc?: string;
  exepath?: string;
  args?: string;
  container?: string;
  ns?: string;
  pod?: string;
  fd?: Record<string, unknown>;
  arg?: Record<string, unknown>;
  policy?: Record<string, unknown>;
  res?: number;
}

export function makeEvent(o: EvOpts): Record<string, unknown> {
  const type = o.type ?? 'execve';
  const proc = o.proc ?? 'cat';
  const ev: Record<string, unknown> = {
    evt: {
      num: o.num,
      time: String(o.time ?? T0 + BigInt(o.num) * 1000n),
      type,
      category:
        o.category ?? (type === 'execve' ? 'process' : type === 'connect' || type.startsWith('accept') ? 'net' : type === 'capability' ? 'priv' : 'file'),
      dir: '<',
      cpu: 0,
      res: o.res ?? 0,
      rawres: o.res ?? 0,
      failed: (o.res ?? 0) < 0,
      arg: o.arg ?? {},
      rawarg: {},
    },
    proc: {
      pid: 1000 + (o.num % 100),
      ppid: 1,
      name: proc,
      exepath: o.exepath ?? `/usr/bin/${proc}`,
      exe: proc,
      args: o.args ?? '',
      cmdline: `${proc} ${o.args ?? ''}`.trim(),
      pexepath: '/bin/bash',
      pname: 'bash',
    },
    thread: { tid: 1000 + (o.num % 100) },
    user: { uid: 0, name: 'root' },
    group: { gid: 0, name: 'root' },
    container: { id: o.container ?? 'host' },
  };
  if (o.ns && o.pod) ev.k8s = { ns: { name: o.ns }, pod: { name: o.pod } };
  if (o.fd) ev.fd = o.fd;
  if (o.policy) ev.policy = o.policy;
  return ev;
}

export function makeAlert(o: {
  rule: string;
  priority: string;
  time?: bigint;
  container?: string;
  pod?: string;
  ns?: string;
  uuid?: string;
}): Record<string, unknown> {
  const t = o.time ?? T0;
  const ms = Number(t / 1_000_000n);
  const frac = (t % 1_000_000_000n).toString().padStart(9, '0');
  return {
    uuid: o.uuid ?? randomUUID(),
    time: new Date(ms).toISOString().slice(0, 19) + '.' + frac + 'Z',
    rule: o.rule,
    priority: o.priority,
    output: `${o.rule} fired`,
    output_fields: {
      'evt.time': String(t),
      'container.id': o.container ?? 'host',
      ...(o.pod ? { 'k8s.pod.name': o.pod, 'k8s.ns.name': o.ns ?? 'default' } : {}),
    },
    source: 'syscall',
    tags: ['test'],
    hostname: 'node1',
  };
}
