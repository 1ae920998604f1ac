// A recording for the insight aggregation tests and bench: the real events of the recorded frames
// (tests/fixtures/frames through the host-free sensor core) plus generated events in the Vigil event
// shape covering every insight operation: file operations of every kind (open read/write, unlink,
// rename, mkdir, chmod, chown, link, memfd), network in both directions (connect, sendto, accept,
// bind/listen, a peer only in fd.name), execs with parents, capabilities, policy decisions (Block,
// Audit, network and file), errno denials, a secret in a path (redacted on the way), times on both
// sides of an aggregate bucket boundary, and several workloads: host, containers, k8s pods of a
// Deployment, a StatefulSet, a CronJob, a DaemonSet and a bare pod.
import { hostFreeCore, recorded } from './frames.ts';
import { T0, makeEvent, type EvOpts } from './backend-fixtures.ts';

export type Doc = Record<string, unknown>;

/** The real events of the recorded frames (host processes). */
export function fixtureEvents(): Doc[] {
  const core = hostFreeCore();
  core.decoder.push(recorded().bytes);
  return core.events as unknown as Doc[];
}

const PODS: { ns: string; pod: string; container: string }[] = [
  { ns: 'shop', pod: 'api-5f7c9d8b4d-qwzxv', container: 'aaaaaaaaaaa1' }, // deployment api
  { ns: 'shop', pod: 'api-5f7c9d8b4d-k2j4x', container: 'aaaaaaaaaaa2' }, // deployment api, second replica
  { ns: 'shop', pod: 'db-0', container: 'bbbbbbbbbbb1' }, // statefulset
  { ns: 'ops', pod: 'backup-28123456-x7k2p', container: 'ccccccccccc1' }, // cronjob
  { ns: 'kube-system', pod: 'agent-x7k2p', container: 'ddddddddddd1' }, // daemonset-or-job
  { ns: 'dev', pod: 'debug', container: 'eeeeeeeeeee1' }, // bare pod
];

/** `n` generated events (deterministic), spread over the workloads above, plain containers and the host. */
export function generatedEvents(n: number, t0: bigint = T0): Doc[] {
  const out: Doc[] = [];
  // start 50 µs before a bucket boundary (10^12 ns) so the recording spans two buckets
  const base = (t0 / 1_000_000_000_000n + 1n) * 1_000_000_000_000n - 50_000n;
  for (let i = 0; i < n; i++) {
    const where = i % 9;
    const w = where < PODS.length ? PODS[where]! : undefined;
    const container = w?.container ?? (where === 6 ? 'fffffffffff1' : where === 7 ? 'fffffffffff2' : 'host');
    const loc = { container, ns: w?.ns, pod: w?.pod };
    const time = base + BigInt(i) * 7n; // several events share a microsecond, some share a ns
    const num = i + 1;
    const kind = (i * 7) % 23;
    const proc = ['nginx', 'python3', 'sh', 'curl'][i % 4]!;
    const ev = (o: Omit<EvOpts, 'num'>) => {
      const e = makeEvent({ ...loc, proc, ...o, num, time });
      if (container !== 'host' && i % 5 === 0) (e.container as Doc).name = `name-${container.slice(0, 4)}`;
      return e;
    };
    const file = (type: string, name: string, flags?: string, res = 0, policy?: Doc) =>
      ev({ type, category: 'file', res, policy, arg: flags ? { flags } : { name }, fd: flags ? { name, type: 'file' } : undefined });
    switch (kind) {
      case 0:
        out.push(ev({ type: 'execve', exepath: `/usr/bin/${proc}` }));
        break;
      case 1:
        out.push(file('openat', `/etc/conf/f${i % 40}`, 'O_RDONLY'));
        break;
      case 2:
        out.push(file('openat', `/var/log/app${i % 3}.log`, 'O_WRONLY|O_APPEND'));
        break;
      case 3:
        out.push(file('openat', '/etc/shadow', 'O_RDONLY', -13, i % 2 ? { name: 'no-shadow', action: 'Block', rule: 'path /etc/shadow' } : undefined));
        break;
      case 4:
        out.push(file('unlinkat', `/tmp/x${i % 5}`));
        break;
      case 5:
        out.push(ev({ type: 'renameat2', category: 'file', arg: { oldpath: '/tmp/a', newpath: '/tmp/b' } }));
        break;
      case 6:
        out.push(file('mkdirat', `/data/d${i % 2}`));
        break;
      case 7:
        out.push(ev({ type: 'fchmodat', category: 'file', arg: { filename: '/data/secret' } }));
        break;
      case 8:
        out.push(ev({ type: 'fchownat', category: 'file', arg: { pathname: '/x', path: '/data/own' } }));
        break;
      case 9:
        out.push(ev({ type: 'symlinkat', category: 'file', arg: { linkpath: '/tmp/ln' } }));
        break;
      case 10:
        out.push(ev({ type: 'memfd_create', category: 'file', arg: { name: 'jit' } }));
        break;
      case 11:
        out.push(
          ev({
            type: 'connect',
            category: 'net',
            fd: { name: `10.0.0.5:4${i % 1000}->10.0.0.9:5432`, cip: '10.0.0.5', sip: '10.0.0.9', sport: 5432, l4proto: 'tcp', type: 'ipv4' },
          }),
        );
        break;
      case 12:
        out.push(
          ev({
            type: 'connect',
            category: 'net',
            res: -1,
            policy: { name: 'no-egress', action: 'Block', rule: 'deny 1.2.3.4' },
            fd: { name: '10.0.0.5:40001->1.2.3.4:443', sip: '1.2.3.4', sport: 443, l4proto: 'tcp', type: 'ipv4' },
          }),
        );
        break;
      case 13:
        out.push(
          ev({
            type: 'accept4',
            category: 'net',
            fd: { name: `10.0.0.${i % 4}:5555->10.0.0.5:8080`, cip: `10.0.0.${i % 4}`, sip: '10.0.0.5', sport: 8080, l4proto: 'tcp', type: 'ipv4' },
          }),
        );
        break;
      case 14:
        out.push(ev({ type: 'sendto', category: 'net', fd: { name: '10.0.0.5:53000->8.8.8.8:53', l4proto: 'udp', type: 'ipv4' } }));
        break;
      case 15:
        out.push(ev({ type: 'bind', category: 'net', fd: { name: '0.0.0.0:9090', lip: '0.0.0.0', lport: 9090, l4proto: 'tcp', type: 'ipv4' } }));
        break;
      case 16:
        out.push(
          ev({ type: 'capability', category: 'priv', arg: { cap: ['CAP_NET_RAW', 'CAP_SYS_ADMIN', 'CAP_CHOWN'][i % 3], granted: i % 4, denied: i % 3 } }),
        );
        break;
      case 17:
        out.push(ev({ type: 'execve', exepath: '/bin/sh', policy: { name: 'audit-shells', action: 'Audit', rule: 'exec /bin/sh' } }));
        break;
      case 18:
        out.push(ev({ type: 'openat', category: 'file', res: -1, arg: { flags: 'O_RDWR' }, fd: { name: '/proc/sys/kernel/x', type: 'file' } }));
        break;
      case 19:
        out.push(file('openat', `/srv/data/f?token=sekrit${i % 2}`, 'O_RDONLY'));
        break;
      case 20:
        out.push(ev({ type: 'execve', exepath: `/opt/bin/tool${i % 3}`, policy: { name: 'block-tools', action: 'Block', rule: 'exec tool' }, res: -1 }));
        break;
      case 21:
        out.push(ev({ type: 'close', category: 'file', fd: { name: '/etc/hosts', type: 'file' } })); // no file operation
        break;
      default:
        out.push(ev({ type: 'clone', category: 'process' }));
    }
  }
  return out;
}

/** The whole recording: real events first, then `n` generated ones. */
export function insightRecording(n = 2000): Doc[] {
  return [...fixtureEvents(), ...generatedEvents(n)];
}
