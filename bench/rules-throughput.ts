// Benchmark of the rules engine (src/rules): evaluation throughput of the community Falco rules
// (stable + incubating) over a generated, realistic mixed stream of recorded events (exec, open,
// connect, socket, clone, exit, ...), on one core and on all cores (worker_threads, sharded by
// proc.pid like the parallel evaluator), plus the end-to-end replay path (JSON parsing included).
//
//   node --import tsx bench/rules-throughput.ts [--events N] [--workers N] [--repeat R]
//
// The machine may be shared: every figure is the best of R runs (default 3), the load average is
// printed next to it, and the single-core figure is also given by CPU time.
import { readFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';
import { alertToJson, ParallelEvaluator, RuleLoader } from '../src/rules/index.ts';
import type { Ev, RulesSource } from '../src/rules/index.ts';

const repo = path.resolve(import.meta.dirname, '..');
const FILES = [path.resolve(repo, '..', 'shared', 'falco', 'falco_rules.yaml'), path.resolve(repo, '..', 'shared', 'falco', 'falco-incubating_rules.yaml')];

// ---------------------------------------------------------------------------------------------
// Deterministic generator of a realistic event mix

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s * 1664525 + 1013904223) >>> 0;
    return s / 4294967296;
  };
}

const pick = <T>(r: () => number, a: readonly T[]): T => a[Math.floor(r() * a.length)] as T;

const PROCS = [
  { name: 'nginx', exepath: '/usr/sbin/nginx', args: '-g daemon off;', pname: 'containerd-shim' },
  { name: 'java', exepath: '/usr/bin/java', args: '-jar app.jar', pname: 'containerd-shim' },
  { name: 'python3', exepath: '/usr/bin/python3', args: 'manage.py runserver', pname: 'bash' },
  { name: 'node', exepath: '/usr/local/bin/node', args: 'server.js', pname: 'npm' },
  { name: 'sshd', exepath: '/usr/sbin/sshd', args: '-D', pname: 'systemd' },
  { name: 'bash', exepath: '/usr/bin/bash', args: '', pname: 'sshd' },
  { name: 'cat', exepath: '/usr/bin/cat', args: '/etc/os-release', pname: 'bash' },
  { name: 'ls', exepath: '/usr/bin/ls', args: '-la /var/log', pname: 'bash' },
  { name: 'grep', exepath: '/usr/bin/grep', args: '-r TODO src', pname: 'bash' },
  { name: 'curl', exepath: '/usr/bin/curl', args: '-s https://example.com', pname: 'sh' },
  { name: 'postgres', exepath: '/usr/lib/postgresql/15/bin/postgres', args: '-D /var/lib/postgresql/data', pname: 'containerd-shim' },
  { name: 'kubelet', exepath: '/usr/bin/kubelet', args: '--config=/var/lib/kubelet/config.yaml', pname: 'systemd' },
];
const FILES_READ = [
  '/etc/ld.so.cache',
  '/usr/lib/x86_64-linux-gnu/libc.so.6',
  '/proc/self/status',
  '/etc/passwd',
  '/etc/hosts',
  '/var/lib/app/data.db',
  '/etc/nginx/nginx.conf',
  '/usr/share/zoneinfo/UTC',
  '/etc/shadow',
  '/root/.ssh/id_rsa',
];
const FILES_WRITE = ['/tmp/upload.tmp', '/var/log/app.log', '/var/lib/app/data.db-wal', '/dev/null', '/var/log/syslog', '/home/user/.bashrc'];
const IPS = ['10.0.0.12', '10.0.3.4', '172.17.0.2', '192.168.1.10', '93.184.216.34', '169.254.169.254', '127.0.0.1'];

function makeEvent(r: () => number, num: number, t0: bigint): Ev {
  const p = pick(r, PROCS);
  const pid = 1000 + Math.floor(r() * 5000);
  const inContainer = r() < 0.5;
  const time = String(t0 + BigInt(num) * 1000n);
  const roll = r();
  let type: string;
  let arg: Record<string, string | number> = {};
  let fd: Record<string, string | number | boolean> | undefined;
  let res = 0;
  let category = 'file';
  if (roll < 0.4) {
    const write = r() < 0.25;
    type = pick(r, ['openat', 'openat', 'open', 'openat2']);
    const name = write ? pick(r, FILES_WRITE) : pick(r, FILES_READ);
    const flags = write ? pick(r, ['O_WRONLY|O_CREAT|O_APPEND', 'O_WRONLY|O_CREAT|O_TRUNC', 'O_RDWR']) : pick(r, ['O_RDONLY|O_CLOEXEC', 'O_RDONLY']);
    res = r() < 0.05 ? -2 : 3 + Math.floor(r() * 20);
    arg = { fd: res, dirfd: -100, name, flags, mode: 0 };
    fd = {
      num: res < 0 ? -1 : res,
      type: 'file',
      typechar: 'f',
      name,
      nameraw: name,
      directory: name.slice(0, name.lastIndexOf('/')) || '/',
      filename: name.slice(name.lastIndexOf('/') + 1),
    };
  } else if (roll < 0.6) {
    type = 'execve';
    category = 'process';
    arg = { exe: p.exepath, args: p.args, cwd: '/' };
  } else if (roll < 0.7) {
    type = 'connect';
    category = 'net';
    const sip = pick(r, IPS);
    const sport = pick(r, [80, 443, 5432, 53, 22, 6443, 8080]);
    const cport = 30000 + Math.floor(r() * 30000);
    fd = {
      num: 5,
      type: 'ipv4',
      typechar: '4',
      name: `10.0.0.5:${cport}->${sip}:${sport}`,
      cip: '10.0.0.5',
      sip,
      cport,
      sport,
      l4proto: 'tcp',
      sockfamily: 'ip',
      is_server: false,
    };
    res = r() < 0.1 ? -115 : 0;
    arg = { fd: 5, tuple: String(fd.name) };
  } else if (roll < 0.75) {
    type = 'socket';
    category = 'net';
    arg = { domain: pick(r, ['AF_INET', 'AF_INET6', 'AF_UNIX', 'AF_INET']), type: 'SOCK_STREAM', proto: 0 };
    res = 6;
  } else if (roll < 0.82) {
    type = 'close';
    arg = { fd: 3 };
  } else if (roll < 0.88) {
    type = 'clone';
    category = 'process';
    arg = { flags: 'CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD', pid: pid + 1 };
  } else if (roll < 0.92) {
    type = 'procexit';
    category = 'process';
    arg = { status: 0, sig: 0 };
  } else if (roll < 0.95) {
    type = pick(r, ['unlinkat', 'renameat2', 'mkdirat']);
    arg = type === 'renameat2' ? { oldpath: '/tmp/a', newpath: '/tmp/b' } : { path: '/tmp/x', dirfd: -100, flags: 0 };
  } else if (roll < 0.97) {
    type = 'dup2';
    arg = { oldfd: 5, newfd: pick(r, [0, 1, 2, 7]) };
    fd = {
      num: 5,
      type: 'ipv4',
      typechar: '4',
      name: '10.0.0.5:40000->93.184.216.34:443',
      cip: '10.0.0.5',
      sip: '93.184.216.34',
      cport: 40000,
      sport: 443,
      l4proto: 'tcp',
    };
  } else if (roll < 0.985) {
    type = pick(r, ['setuid', 'setresuid']);
    category = 'priv';
    arg = { uid: 0 };
  } else {
    type = pick(r, ['ptrace', 'chmod', 'symlinkat', 'bpf', 'kill']);
    category = 'priv';
    arg =
      type === 'ptrace'
        ? { request: 'PTRACE_PEEKDATA', pid: 1 }
        : type === 'symlinkat'
          ? { target: '/tmp/t', linkpath: '/tmp/l' }
          : type === 'chmod'
            ? { filename: '/tmp/x', mode: 'S_IRUSR|S_IWUSR' }
            : { cmd: 'BPF_MAP_CREATE', pid: 1, sig: 0 };
  }
  const ev: Ev = {
    evt: { num, time, type, category, dir: '<', cpu: num % 8, res, rawres: res, failed: res < 0, arg, rawarg: {} },
    proc: {
      pid,
      ppid: pid - 1,
      vpid: inContainer ? 1 : pid,
      name: p.name,
      exe: p.name,
      exepath: p.exepath,
      args: p.args,
      cmdline: p.args ? `${p.name} ${p.args}` : p.name,
      cwd: '/',
      tty: p.name === 'bash' && !inContainer ? 34816 : 0,
      sid: pid,
      sname: p.pname,
      vpgid: pid,
      pgid: pid,
      pname: p.pname,
      pexepath: `/usr/bin/${p.pname}`,
      pcmdline: p.pname,
      aname: [p.pname, 'containerd-shim', 'systemd'],
      aexepath: [`/usr/bin/${p.pname}`, '/usr/bin/containerd-shim', '/sbin/init'],
      apid: [pid - 1, 900, 1],
      start_ts: String(t0 - 10_000_000_000n),
      is_exe_from_memfd: false,
      is_exe_upper_layer: false,
      is_exe_writable: false,
    },
    thread: { tid: pid, cap_effective: '', cap_permitted: 'CAP_CHOWN CAP_NET_BIND_SERVICE', cap_inheritable: '' },
    user: { uid: p.name === 'postgres' ? 999 : 0, name: p.name === 'postgres' ? 'postgres' : 'root', loginuid: -1 },
    group: { gid: 0, name: 'root' },
    container: inContainer
      ? {
          id: 'abcdef123456',
          name: 'app',
          image: 'registry.example.com/app:1.2',
          'image.repository': 'registry.example.com/app',
          'image.tag': '1.2',
          type: 'containerd',
          privileged: false,
        }
      : { id: 'host' },
  };
  if (fd) ev.fd = fd;
  if (inContainer) ev.k8s = { ns: { name: 'prod' }, pod: { name: 'app-7d9f', uid: 'a1b2' } };
  return ev;
}

/** The stream: `distinct` generated events repeated to `total` (shared objects, small memory). */
function stream(distinct: number): Ev[] {
  const r = rng(42);
  const t0 = 1700000000000000000n;
  return Array.from({ length: distinct }, (_, i) => makeEvent(r, i + 1, t0));
}

function loadSources(): RulesSource[] {
  const l = new RuleLoader();
  const res = l.loadFiles(FILES);
  if (!res.ok) throw new Error('rules failed to load');
  return [...l.loadedSources];
}

let lastCpuSeconds = 0;

/** CPU seconds (user + system) of the calling thread (/proc/thread-self/stat, clock ticks of 10 ms). */
function threadCpuSeconds(): number {
  try {
    const st = readFileSync('/proc/thread-self/stat', 'utf8');
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  } catch {
    return NaN;
  }
}

const load = (): string => `load ${loadavg()[0]?.toFixed(2)}`;

/** Evaluates `total` events of the stream (events whose pid % shards == shard); returns [n, alerts, seconds, thread CPU seconds]. */
function runShard(sources: RulesSource[], distinct: number, total: number, shard: number, shards: number): [number, number, number, number] {
  const rs = new RuleLoader().load(sources).ruleset;
  const evs = stream(distinct).filter((e) => (e.proc as { pid: number }).pid % shards === shard);
  // warm-up
  for (let i = 0; i < Math.min(evs.length * 5, 200_000); i++) rs.matchFirst(evs[i % evs.length] as Ev);
  const mine = Math.round((total * evs.length) / distinct);
  let alerts = 0;
  const t = process.hrtime.bigint();
  const cpu = process.cpuUsage();
  const tcpu = threadCpuSeconds();
  for (let i = 0, j = 0; i < mine; i++) {
    if (rs.matchFirst(evs[j] as Ev) !== undefined) alerts++;
    if (++j === evs.length) j = 0;
  }
  const wall = Number(process.hrtime.bigint() - t) / 1e9;
  lastCpuSeconds = process.cpuUsage(cpu).user / 1e6;
  return [mine, alerts, wall, threadCpuSeconds() - tcpu];
}

export const streamForProfile = stream;

if (process.env.VIGIL_BENCH_IMPORT === '1') {
  // imported for profiling
} else if (!isMainThread) {
  const d = workerData as { sources: RulesSource[]; distinct: number; total: number; shard: number; shards: number };
  parentPort?.postMessage(runShard(d.sources, d.distinct, d.total, d.shard, d.shards));
} else {
  const argv = process.argv.slice(2);
  const opt = (k: string, dflt: number): number => {
    const i = argv.indexOf(k);
    return i >= 0 ? Number(argv[i + 1]) : dflt;
  };
  const total = opt('--events', 2_000_000);
  const workers = opt('--workers', availableParallelism());
  const repeat = Math.max(1, opt('--repeat', 3));
  const distinct = 50_000;
  const sources = loadSources();
  const rs = new RuleLoader().load(sources).ruleset;
  console.log(
    `rules engine throughput: ${rs.rules.length} rules (stable + incubating), ${total.toLocaleString('en-US')} events per run (${distinct.toLocaleString('en-US')} distinct generated events, repeated), ${availableParallelism()} CPUs, best of ${repeat} runs`,
  );
  const evs = stream(distinct);
  const mix = new Map<string, number>();
  for (const e of evs) mix.set((e.evt as { type: string }).type, (mix.get((e.evt as { type: string }).type) ?? 0) + 1);
  console.log(
    'event mix: ' +
      [...mix]
        .sort((a, b) => b[1] - a[1])
        .map(([t, n]) => `${t} ${((100 * n) / distinct).toFixed(1)}%`)
        .join(', '),
  );

  // 1. evaluation on one core (synchronous evaluator)
  let best1: { n: number; a: number; s: number; load: string } | undefined;
  let cpu1 = Infinity;
  for (let k = 0; k < repeat; k++) {
    const [n, a, s] = runShard(sources, distinct, total, 0, 1);
    if (!best1 || n / s > best1.n / best1.s) best1 = { n, a, s, load: load() };
    cpu1 = Math.min(cpu1, lastCpuSeconds * (best1.n / n));
  }
  const { n: n1, a: a1, s: s1 } = best1 as NonNullable<typeof best1>;
  const one = n1 / s1;
  console.log(
    `\n1 worker (synchronous evaluator): ${n1.toLocaleString('en-US')} events in ${s1.toFixed(3)} s wall = ${Math.round(one).toLocaleString('en-US')} events/s (${(1e9 / one).toFixed(0)} ns/event), ${a1.toLocaleString('en-US')} alerts [${best1?.load}]`,
  );
  console.log(
    `  by CPU time (${cpu1.toFixed(3)} s user; less sensitive to other load on the machine): ${Math.round(n1 / cpu1).toLocaleString('en-US')} events/s per core (${((1e9 * cpu1) / n1).toFixed(0)} ns/event)`,
  );

  // 2. evaluation on all cores: each worker evaluates its pid shard of the same stream
  const tsxApi = pathToFileURL(path.resolve(repo, 'node_modules', 'tsx', 'dist', 'esm', 'api', 'index.mjs')).href;
  const self = pathToFileURL(import.meta.filename).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((m) => { m.register(); return import(${JSON.stringify(self)}); })`;
  let bestAll = 0;
  for (let k = 0; k < repeat; k++) {
    const t = process.hrtime.bigint();
    const results = await Promise.all(
      Array.from(
        { length: workers },
        (_, shard) =>
          new Promise<[number, number, number, number]>((resolve, reject) => {
            const w = new Worker(boot, { eval: true, workerData: { sources, distinct, total, shard, shards: workers } });
            w.once('message', (m: [number, number, number, number]) => {
              resolve(m);
              void w.terminate();
            });
            w.once('error', reject);
          }),
      ),
    );
    const wall = Number(process.hrtime.bigint() - t) / 1e9;
    const nAll = results.reduce((s, r) => s + r[0], 0);
    const slowest = Math.max(...results.map((r) => r[2]));
    const all = nAll / slowest;
    const perCore = results.map((r) => Math.round(r[0] / r[3]).toLocaleString('en-US')).join(', ');
    if (all > bestAll) {
      bestAll = all;
      console.log(
        `${workers} workers (pid-sharded): ${nAll.toLocaleString('en-US')} events, slowest shard ${slowest.toFixed(3)} s = ${Math.round(all).toLocaleString('en-US')} events/s (${Math.round(all / workers).toLocaleString('en-US')} per worker; by thread CPU time ${perCore} events/s per worker; wall time incl. worker start and rule loading ${wall.toFixed(2)} s) [${load()}]`,
      );
    }
  }
  console.log(`speed-up all workers / 1 worker: ${(bestAll / one).toFixed(2)}x`);

  // 3. end to end, as `vigil replay`: NDJSON lines -> pid sharding -> JSON.parse + evaluation in workers
  const lines = evs.map((e) => JSON.stringify(e));
  const e2eTotal = Math.min(total, 1_000_000);
  const avgLen = Math.round(lines.reduce((s, l) => s + l.length, 0) / lines.length);
  // CPU µs per event of the whole process (all threads), next to each wall-clock rate: on a
  // shared machine this shows what the parallel path costs even when the wall clock is disturbed
  let cpuStart = process.cpuUsage();
  const cpuPerEvent = (): number => {
    const c = process.cpuUsage(cpuStart);
    return (c.user + c.system) / e2eTotal;
  };
  const e2e = async (w: number): Promise<number> => {
    const pe = await ParallelEvaluator.create(sources, { workers: w, batchSize: 2048 });
    let alerts = 0;
    pe.setAlertHandler(() => alerts++);
    cpuStart = process.cpuUsage();
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < e2eTotal; i++) {
      const p = pe.pushLine(lines[i % lines.length] as string);
      if (p) await p;
    }
    await pe.flush();
    const s = Number(process.hrtime.bigint() - t1) / 1e9;
    cpuP = Math.min(cpuP, cpuPerEvent());
    await pe.close();
    return e2eTotal / s;
  };
  let cpuM = Infinity;
  let cpuR = Infinity;
  let cpuP = Infinity;
  const rs1 = new RuleLoader().load(sources).ruleset;
  const singleMatch = (): number => {
    cpuStart = process.cpuUsage();
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < e2eTotal; i++) rs1.matchFirst(JSON.parse(lines[i % lines.length] as string) as Ev);
    const r = e2eTotal / (Number(process.hrtime.bigint() - t1) / 1e9);
    cpuM = Math.min(cpuM, cpuPerEvent());
    return r;
  };
  const singleReplay = (): number => {
    cpuStart = process.cpuUsage();
    const t1 = process.hrtime.bigint();
    for (let i = 0; i < e2eTotal; i++) for (const a of rs1.evaluate(JSON.parse(lines[i % lines.length] as string) as Ev)) alertToJson(a);
    const r = e2eTotal / (Number(process.hrtime.bigint() - t1) / 1e9);
    cpuR = Math.min(cpuR, cpuPerEvent());
    return r;
  };
  let bm = 0;
  let br = 0;
  let bp = 0;
  const loads: string[] = [];
  for (let k = 0; k < repeat; k++) {
    bm = Math.max(bm, singleMatch());
    br = Math.max(br, singleReplay());
    bp = Math.max(bp, await e2e(workers));
    loads.push(load());
  }
  console.log(`\nend to end (replay path, ${avgLen}-byte JSON lines, JSON.parse included), ${e2eTotal.toLocaleString('en-US')} events [${loads.join(', ')}]:`);
  const us = (x: number): string => `${x.toFixed(2)} µs CPU/event`;
  console.log(`  1 thread, parse + match only: ${Math.round(bm).toLocaleString('en-US')} events/s (${us(cpuM)})`);
  console.log(`  1 thread, parse + evaluate + alert JSON (vigil replay --workers 1): ${Math.round(br).toLocaleString('en-US')} events/s (${us(cpuR)})`);
  console.log(
    `  ${workers} workers (ParallelEvaluator.pushLine, alerts as JSON in input order): ${Math.round(bp).toLocaleString('en-US')} events/s (${us(cpuP)}, all threads); ratio ${(bp / br).toFixed(2)}x`,
  );
}
