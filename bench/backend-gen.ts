// Benchmark data generator for the backend benchmarks: realistic Vigil events (docs/event-format.md)
// spread over many workloads, with process, file, network, capability and policy records.
export const T_BASE = 1_760_000_000_000_000_000n;

const PATHS = [
  '/etc/ssl/certs/ca.pem',
  '/usr/lib/x86_64-linux-gnu/libc.so.6',
  '/proc/self/status',
  '/app/config.yaml',
  '/tmp/cache',
  '/var/log/app.log',
  '/etc/passwd',
];
const EXES = ['/usr/bin/python3', '/bin/sh', '/usr/bin/curl', '/usr/local/bin/node', '/usr/sbin/nginx', '/bin/cat'];
const CAPS = ['CAP_NET_RAW', 'CAP_CHOWN', 'CAP_SYS_ADMIN', 'CAP_NET_BIND_SERVICE'];

export function genEvent(i: number, sensor: number, workloads = 200): Record<string, unknown> {
  const w = (i * 7 + sensor * 13) % workloads;
  const pod = `svc${w}-5f7c9d8b4d-${String(10000 + (w % 97)).slice(0, 5)}`;
  const r = (Math.imul((i >>> 8) ^ i, 0x9e3779b1) >>> 0) % 100;
  const exe = EXES[i % EXES.length]!;
  const name = exe.slice(exe.lastIndexOf('/') + 1);
  const evt: Record<string, unknown> = {
    num: i,
    time: (T_BASE + BigInt(i) * 1000n + BigInt(sensor)).toString(),
    type: 'openat',
    category: 'file',
    dir: '<',
    cpu: i % 2,
    res: 3,
    rawres: 3,
    failed: false,
    arg: {},
    rawarg: {},
  };
  const ev: Record<string, unknown> = {
    evt,
    proc: {
      pid: 1000 + (i % 5000),
      ppid: 1,
      vpid: 7,
      name,
      exepath: exe,
      exe: name,
      args: `-c run ${i % 50}`,
      cmdline: `${name} -c run ${i % 50}`,
      cwd: '/app/',
      pname: 'bash',
      pexepath: '/bin/bash',
      exec_id: `x${i % 1000}`,
    },
    thread: { tid: 1000 + (i % 5000) },
    user: { uid: 1000, name: 'app' },
    group: { gid: 1000, name: 'app' },
    container: { id: `c${String(w).padStart(11, '0')}`, name: `svc${w}`, image: `registry/svc${w}:1.2` },
    k8s: { ns: { name: `ns${w % 10}` }, pod: { name: pod } },
  };
  if (r < 10) {
    evt.type = 'execve';
    evt.category = 'process';
  } else if (r < 60) {
    const p = PATHS[i % PATHS.length]! + (i % 7 === 0 ? `/${i % 300}` : '');
    evt.arg = { flags: i % 4 ? 'O_RDONLY|O_CLOEXEC' : 'O_WRONLY|O_CREAT', name: p };
    ev.fd = { num: 3, type: 'file', typechar: 'f', name: p };
  } else if (r < 85) {
    evt.type = 'connect';
    evt.category = 'net';
    const port = [443, 5432, 6379, 53][i % 4]!;
    ev.fd = {
      num: 5,
      type: 'ipv4',
      typechar: '4',
      name: `10.0.0.${w % 250}:4${i % 9999}->10.1.${i % 20}.${i % 200}:${port}`,
      cip: `10.0.0.${w % 250}`,
      sip: `10.1.${i % 20}.${i % 200}`,
      sport: port,
      l4proto: 'tcp',
      is_server: false,
    };
  } else if (r < 93) {
    evt.type = 'accept4';
    evt.category = 'net';
    ev.fd = {
      num: 6,
      type: 'ipv4',
      typechar: '4',
      name: `10.2.0.${i % 100}:5${i % 999}->10.0.0.${w % 250}:8080`,
      cip: `10.2.0.${i % 100}`,
      sip: `10.0.0.${w % 250}`,
      sport: 8080,
      l4proto: 'tcp',
      is_server: true,
    };
  } else {
    evt.type = 'capability';
    evt.category = 'priv';
    evt.arg = { cap: CAPS[i % CAPS.length], granted: i % 3, denied: i % 2, last_ts: evt.time };
  }
  if (r === 42 || r === 77) {
    ev.policy = { name: `deny-${w % 5}`, action: 'Block', rule: 'default deny' };
    evt.res = -1;
    evt.failed = true;
  }
  return ev;
}
