// Retention of process state (src/sensor/proctable.ts, the enricher's use of it, the bounded
// caches of users.ts and container.ts), fed with frames built with the ABI mirror and fake /proc
// and /etc directories, never the host's: a pid recycled after its process left the table never
// lends the old process's identity or ancestry (the chain ends, counted), a process whose record is
// nowhere is built from its event alone and counted as missing, fd tables and caches stop at their
// limits and count what they drop, the liveness audit finds processes whose exit was lost, and
// vigil status and /metrics show every counter.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXEC_A, FDT, FD_A, K, NARGS } from '../../../src/abi/layout.ts';
import { A } from '../../../src/abi/kinds.gen.ts';
import { Enricher } from '../../../src/sensor/enrich.ts';
import { ProcTable, makeExecId } from '../../../src/sensor/proctable.ts';
import { CgroupIndex, ContainerResolver } from '../../../src/sensor/container.ts';
import { UserDb } from '../../../src/sensor/users.ts';
import { Sensor } from '../../../src/sensor/sensor.ts';
import { sensorMetrics } from '../../../src/sensor/metrics.ts';
import { formatStatus } from '../../../src/cli/commands/status.ts';
import type { VigilEvent } from '../../../src/abi/event.ts';
import { FixedUsers, NoProcContainers, decodeAll, emptyDir, eventFrame } from '../../helpers/frames.ts';

const S = 1_000_000_000n; // one second in ns

function core(opts: { maxSize?: number; graceMs?: number; maxFds?: number; procRoot?: string } = {}) {
  const empty = emptyDir();
  const procs = new ProcTable({ procRoot: empty, ...opts });
  const runtime = { runc: [empty], docker: empty, containerdTasks: [empty], crio: empty };
  const enricher = new Enricher(procs, new NoProcContainers(runtime), new FixedUsers(), new CgroupIndex(empty));
  const build = (f: Buffer): VigilEvent => {
    const ev = enricher.build(decodeAll(f)[0]!);
    assert.ok(ev, 'an event');
    return ev;
  };
  return { procs, enricher, build };
}

/** pid execs `name` at time `ts` (its process started at `start`), child of ppid. */
function exec(pid: number, ppid: number, name: string, start: bigint, ts: bigint): Buffer {
  const args = new Array<number | bigint>(NARGS).fill(0);
  args[EXEC_A.START] = start;
  args[EXEC_A.SID_PGID] = (BigInt(pid) << 32n) | BigInt(pid); // its own session and group leader
  return eventFrame({ kind: K.EXECVE, pid, ppid, comm: name, syscall: 59, ts, args, strs: [`/usr/bin/${name}`, `${name}\0`, '/', name] });
}

/** pid forks child at time `start`. */
function fork(pid: number, ppid: number, comm: string, child: number, start: bigint): Buffer {
  const args = new Array<number | bigint>(NARGS).fill(0);
  args[A.CLONE.tid] = child;
  args[A.CLONE.pid] = child;
  args[A.CLONE.start] = start;
  return eventFrame({ kind: K.CLONE, pid, ppid, comm, syscall: 56, ts: start, res: child, args });
}

function exit(pid: number, ppid: number, comm: string, ts: bigint): Buffer {
  return eventFrame({ kind: K.PROCEXIT, pid, ppid, comm, ts, args: [0, 0, 0, 0] });
}

/** A successful openat of `name` by pid returning fd `res`. */
function open(pid: number, ppid: number, comm: string, res: number, name: string, ts: bigint): Buffer {
  const args = new Array<number>(NARGS).fill(0);
  args[0] = res;
  args[1] = -100;
  args[FD_A.TYPE] = FDT.FILE;
  return eventFrame({ kind: K.OPENAT, pid, ppid, comm, res, syscall: 257, ts, args, strs: [name, '/'] });
}

test('a recycled parent pid is never shown as the parent: the ancestry ends there, counted', () => {
  const { procs, build } = core({ graceMs: 1000 });
  build(exec(200, 1, 'bash', 1n * S, 1n * S)); // the old parent
  build(fork(200, 1, 'bash', 300, 2n * S));
  const worker = build(exec(300, 200, 'worker', 2n * S, 2n * S + 1000n));
  assert.deepEqual([worker.proc.aname, worker.proc.apid, worker.proc.pname], [['bash'], [200], 'bash'], 'while bash lives, it is the parent');

  // bash exits and leaves the table after its grace period; worker lives on (reparented to 1)
  build(exit(200, 1, 'bash', 3n * S));
  assert.notEqual(procs.get(200)!.view, undefined);
  assert.equal(procs.sweep(Date.now()), 0, 'in its grace period');
  assert.equal(procs.get(200)!.view, undefined, 'its cached field objects released');
  assert.equal(procs.sweep(Date.now() + 1001), 1);
  assert.equal(procs.get(200), undefined);
  assert.equal(procs.retention.expired, 1);

  // pid 200 is recycled: a younger process, nginx, started at 4 s
  const nginx = build(exec(200, 1, 'nginx', 4n * S, 4n * S));
  assert.deepEqual(
    [nginx.proc.name, nginx.proc.aname, nginx.proc.exec_id],
    ['nginx', [], makeExecId(200, 4n * S)],
    "the new process has none of bash's ancestry",
  );

  // an event of worker: its recorded parent pid now names nginx, younger than worker
  const ev = build(open(300, 1, 'worker', 3, '/etc/hosts', 5n * S));
  assert.equal(ev.proc.name, 'worker');
  assert.equal(ev.proc.ppid, 200, 'the parent pid as recorded at fork time');
  assert.deepEqual(ev.proc.aname, [], 'nginx is not shown as the parent');
  assert.deepEqual(ev.proc.apid, []);
  assert.equal(ev.proc.pname, undefined);
  assert.equal(ev.proc.pexepath, undefined);
  assert.ok(procs.retention.pidReused >= 1, 'counted');
  assert.equal(procs.stats.missing, 0, 'no process record was missing: only the parent is unknown');

  // worker's own session and group leader pid (300) are its own; a leader pid recycled by a
  // younger process gives no vpgid.name either
  const wk = procs.get(300)!;
  wk.pgid = 200;
  wk.sid = 200;
  wk.gen = (wk.gen ?? 0) + 1; // field view rebuilt
  const ev2 = build(open(300, 1, 'worker', 4, '/etc/hosts', 6n * S));
  assert.equal(ev2.proc['vpgid.name'], undefined, 'the group leader pid now names nginx, which is younger');
  assert.equal(ev2.proc.sname, undefined);
});

test('a process whose record was evicted, its pid reused: built from its event alone, counted missing, with the right parent', () => {
  const { procs, build } = core({ maxSize: 3 });
  build(exec(10, 1, 'init', 1n * S, 1n * S));
  build(exec(400, 10, 'olddaemon', 2n * S, 2n * S));
  build(fork(10, 1, 'init', 500, 3n * S));
  build(exec(500, 10, 'shell', 3n * S, 3n * S + 1n));
  // the table is full (10, 400, 500); olddaemon exits, and the next process evicts it at once
  build(exit(400, 10, 'olddaemon', 3n * S + 10n));
  build(exec(600, 500, 'tool', 4n * S, 4n * S));
  assert.equal(procs.stats.evicted, 1);
  assert.equal(procs.get(400), undefined);
  build(exit(600, 500, 'tool', 4n * S + 10n));

  // pid 400 is recycled by a process whose fork the sensor did not see (a dropped record), child of 500
  const ev = build(open(400, 500, 'newcomer', 3, '/etc/passwd', 5n * S));
  assert.equal(procs.stats.evicted, 2, 'the exited tool made room');
  assert.deepEqual([...procs.procs.keys()], [10, 500, 400]);
  assert.equal(ev.proc.name, 'newcomer', "the event's own comm, never the evicted olddaemon's");
  assert.equal(ev.proc.exepath, undefined, 'unknown: not guessed');
  assert.deepEqual(
    [ev.proc.ppid, ev.proc.aname, ev.proc.apid],
    [500, ['shell', 'init'], [500, 10]],
    'the parent the kernel named at the event, and its own ancestry',
  );
  assert.equal(procs.stats.missing, 1, 'counted once');
  assert.equal(procs.get(400)!.partial, true);
  build(open(400, 500, 'newcomer', 4, '/etc/group', 5n * S + 10n));
  assert.equal(procs.stats.missing, 1, 'its next events find the stand-in');
  assert.equal(procs.retention.pidReused, 0);
});

test('a fork by a process whose record is nowhere: the parent counted missing once, the child inherits only what is known', () => {
  const { procs, build } = core();
  build(fork(450, 1, 'ghost', 451, 7n * S)); // the sensor never saw 450 (e.g. its exec record was dropped)
  assert.equal(procs.stats.missing, 1);
  assert.equal(procs.get(450)!.partial, true);
  const child = build(open(451, 450, 'ghost', 3, '/etc/hosts', 8n * S));
  assert.deepEqual([child.proc.name, child.proc.exepath, child.proc.aname], ['ghost', undefined, ['ghost']]);
  assert.equal(procs.get(451)!.partial, true, "the child's image is its parent's: unknown too");
  build(open(450, 1, 'ghost', 4, '/etc/hosts', 9n * S));
  assert.equal(procs.stats.missing, 1, "the parent's next event finds its stand-in: not counted again");
});

test('a parent pid read again from /proc that now names a younger process is refused', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vigil-retention-proc-'));
  try {
    // /proc/200: a process started at 90 s (clock ticks of 10 ms)
    const d = path.join(root, '200');
    mkdirSync(d);
    const fields = Array.from({ length: 50 }, () => '0');
    fields[1] = '1'; // ppid
    fields[19] = '9000'; // starttime, ticks
    writeFileSync(path.join(d, 'stat'), `200 (imposter) S ${fields.slice(1).join(' ')}`);
    writeFileSync(path.join(d, 'status'), 'Uid:\t0\t0\t0\t0\nGid:\t0\t0\t0\t0\n');
    writeFileSync(path.join(d, 'cmdline'), 'imposter\0');
    const { procs, build } = core({ procRoot: root });
    assert.equal(procs.lookup(200)?.startNs, 90n * S, 'the fake /proc entry reads');
    procs.procs.delete(200);
    // pid 300 started at 10 s, child of 200: the 200 in /proc started later, so it is not that parent
    const ev = build(exec(300, 200, 'worker', 10n * S, 10n * S));
    assert.deepEqual(ev.proc.aname, []);
    assert.equal(procs.retention.pidReused, 1);
    // a process that started after /proc's 200 may be its child
    const ev2 = build(exec(301, 200, 'worker2', 95n * S, 95n * S));
    assert.deepEqual(ev2.proc.aname, ['imposter']);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('fd tables stop at maxFds: the oldest descriptor goes first, counted; a fork copies within the limit', () => {
  const { procs, build } = core({ maxFds: 4 });
  build(exec(800, 1, 'opener', 1n * S, 1n * S));
  for (let fd = 3; fd < 10; fd++) build(open(800, 1, 'opener', fd, `/tmp/f${fd}`, 2n * S + BigInt(fd)));
  const p = procs.get(800)!;
  assert.deepEqual([...p.fds.keys()], [6, 7, 8, 9]);
  assert.equal(procs.retention.fdsDropped, 3);
  build(open(800, 1, 'opener', 9, '/tmp/again', 3n * S)); // the same fd again drops nothing
  assert.equal(procs.retention.fdsDropped, 3);
  assert.equal(p.fds.get(9)!.name, '/tmp/again');
  build(fork(800, 1, 'opener', 801, 4n * S));
  const child = procs.get(801)!;
  assert.deepEqual([...child.fds.keys()], [6, 7, 8, 9]);
  assert.notEqual(child.fds, p.fds);
  build(open(801, 800, 'opener', 10, '/tmp/child', 5n * S));
  assert.deepEqual([...child.fds.keys()], [7, 8, 9, 10]);
  assert.deepEqual([...p.fds.keys()], [6, 7, 8, 9], "the parent's table is its own");
  assert.equal(procs.retention.fdsDropped, 4);
});

test('liveness audit: a process whose exit record was lost is found gone, then leaves after the grace period', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vigil-retention-audit-'));
  try {
    mkdirSync(path.join(root, '900'));
    const { procs, build } = core({ procRoot: root, graceMs: 1000 });
    build(exec(900, 1, 'alive', 1n * S, 1n * S));
    build(exec(901, 1, 'lost', 1n * S, 1n * S)); // no /proc/901: its exit was never seen
    const now = Date.now();
    assert.equal(procs.audit(2000, now), 1);
    assert.equal(procs.get(901)!.exitedAt, now);
    assert.equal(procs.get(900)!.exitedAt, undefined);
    assert.equal(procs.retention.vanished, 1);
    assert.equal(procs.audit(2000, now), 0, 'counted once');
    assert.equal(procs.sweep(now + 1001), 1);
    assert.deepEqual([...procs.procs.keys()], [900]);
    // a bounded number of checks per call, continuing where the last call stopped
    for (let pid = 1000; pid < 1010; pid++) build(exec(pid, 1, 'gone', 2n * S, 2n * S));
    let found = 0;
    for (let i = 0; i < 3; i++) found += procs.audit(4, now);
    assert.equal(found, 10, 'three calls of 4 checks cover the 11 entries');
    assert.equal(procs.retention.vanished, 11);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('user tables: at most maxTables files, the least recently read dropped first, counted', () => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vigil-retention-users-'));
  try {
    for (const c of ['a', 'b', 'c']) {
      mkdirSync(path.join(root, c, 'etc'), { recursive: true });
      writeFileSync(path.join(root, c, 'etc', 'passwd'), `user${c}:x:1000:1000::/home/${c}:/bin/sh\n`);
    }
    const db = new UserDb(2);
    assert.equal(db.userName(1000, path.join(root, 'a')), 'usera');
    assert.equal(db.userName(1000, path.join(root, 'b')), 'userb');
    assert.equal(db.evicted, 0);
    assert.equal(db.userName(1000, path.join(root, 'c')), 'userc');
    assert.deepEqual([db.size, db.evicted], [2, 1]);
    assert.equal(db.userName(1000, path.join(root, 'a')), 'usera', 'read again after its eviction');
    assert.deepEqual([db.size, db.evicted], [2, 2]);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test('container cache: at most maxEntries containers, the oldest dropped first, counted', () => {
  const empty = emptyDir();
  const r = new ContainerResolver({ runc: [empty], docker: empty, containerdTasks: [empty], crio: empty });
  r.maxEntries = 2;
  const id = (n: number) => n.toString(16).padStart(64, '0');
  const m = (n: number) => ({ fullId: id(n), type: 'runc', cgroupPath: `/x/${id(n)}` });
  const first = r.forMatch(m(1));
  r.forMatch(m(2));
  assert.equal(r.evicted, 0);
  r.forMatch(m(3));
  assert.deepEqual([r.size, r.evicted], [2, 1]);
  const again = r.forMatch(m(1));
  assert.notEqual(again, first, 'read again');
  assert.deepEqual([again.id, r.size, r.evicted], [id(1).slice(0, 12), 2, 2]);
});

test('vigil status and /metrics show the retention counters of the table, the caches and the capability mirror', () => {
  const sensor = new Sensor(); // not started: no loader, no kernel
  const t = sensor.procs;
  t.noteMissing({ ...t.readProc(process.pid)!, pid: 999_999_999 });
  t.retention.pidReused += 2;
  t.retention.vanished += 3;
  t.retention.fdsDropped += 4;
  t.retention.expired += 5;
  const rec = (pid: number, cap: number) => ({ pid, cap, granted: 1, denied: 0, lastTs: 0n, cgroupId: 0n, mntns: 0 });
  sensor.caps.set(`${process.pid}:21`, rec(process.pid, 21));
  sensor.caps.set('999999999:21', rec(999_999_999, 21)); // beyond any pid_max: gone
  assert.equal(sensor.pruneCaps(), 1);
  assert.deepEqual([...sensor.caps.keys()], [`${process.pid}:21`]);
  const st = sensor.status();
  assert.equal(st.procTable.missing, 1);
  assert.deepEqual(st.retention.procTable, { maxSize: 65536, graceMs: 5000, maxFds: 1024, expired: 5, vanished: 3, pidReused: 2, fdsDropped: 4 });
  assert.deepEqual(st.retention.caps, { size: 1, max: 65536, pruned: 1, evicted: 0 });
  assert.deepEqual(st.retention.containers, { size: 0, max: 4096, evicted: 0 });
  assert.deepEqual(st.retention.userTables, { size: 0, max: 128, evicted: 0 });
  assert.ok(st.memory.rss > 0 && st.memory.heapUsed > 0);
  const m = sensorMetrics(st).split('\n');
  for (const line of [
    'vigil_proc_missing_total 1',
    'vigil_proc_pid_reused_total 2',
    'vigil_proc_vanished_total 3',
    'vigil_proc_table_limit 65536',
    'vigil_cache_evictions_total{cache="fd_table"} 4',
    'vigil_cache_evictions_total{cache="proc_table_expired"} 5',
    'vigil_cache_evictions_total{cache="caps"} 1',
    'vigil_cache_entries{cache="caps"} 1',
  ])
    assert.ok(m.includes(line), `metrics line ${line}`);
  assert.match(formatStatus(st), /expired 5, exit lost \(audit\) 3, recycled parent pids refused 2, fds dropped 4/);
});
