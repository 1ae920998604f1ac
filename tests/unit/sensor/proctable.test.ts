// ProcTable (src/sensor/proctable.ts) without a kernel and without the host's /proc: the table the
// recorded workload leaves (exec, clone, thread, exit, exec ids, a parent that is nowhere), reading
// processes from a fake /proc directory (procRoot), ancestry depth and loops, the grace period
// of exited processes and the size bound.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { F_THREAD, K } from '../../../src/abi/layout.ts';
import { ProcTable, makeExecId, type Proc } from '../../../src/sensor/proctable.ts';
import { hostFreeCore, recorded } from '../../helpers/frames.ts';

const { bytes, meta } = recorded();
const [SH, WL, CHILD] = meta.pids as [number, number, number];

function replay() {
  const core = hostFreeCore();
  core.decoder.push(bytes);
  return core;
}

test('recorded workload: one entry per process, threads resolve to their process, exec ids, exits', () => {
  const { procs, raws, events } = replay();
  const threadClone = raws.find((r) => r.kind === K.CLONE && r.flags & F_THREAD)!;
  const THREAD = threadClone.args[0]!;
  assert.notEqual(THREAD, WL);
  assert.equal(threadClone.args[1], WL, 'a thread clone carries its process as tgid');
  assert.deepEqual(
    [...procs.procs.keys()].sort((a, b) => a - b),
    [SH, WL, CHILD],
  );
  assert.equal(procs.get(THREAD), undefined, 'a thread is not a process');
  // the thread's own events carry the process
  const threadEvents = events.filter((e) => e.thread.tid === THREAD);
  assert.deepEqual(
    threadEvents.map((e) => [e.evt.type, e.proc.pid, e.proc.name, e.proc.exepath]),
    [
      ['openat', WL, 'workload', `${meta.dir}/workload`],
      ['close', WL, 'workload', `${meta.dir}/workload`],
    ],
  );

  const sh = procs.get(SH)!;
  const wl = procs.get(WL)!;
  const child = procs.get(CHILD)!;
  const execOf = (pid: number) => raws.filter((r) => r.kind === K.EXECVE && r.pid === pid).at(-1)!;
  assert.deepEqual(
    [sh, wl, child].map((p) => [p.pid, p.ppid, p.name, p.exepath, p.exe, p.args, p.cwd, p.seeded ?? false]),
    [
      [SH, sh.ppid, 'sh', '/usr/bin/dash', '/bin/sh', ['-c', `cd ${meta.dir} && ./workload && exit 0`], '/', false],
      [WL, SH, 'workload', `${meta.dir}/workload`, './workload', [], meta.dir, false],
      [CHILD, WL, 'workload', `${meta.dir}/workload`, 'workload', ['child', 'x y'], `${meta.dir}/sub`, false],
    ],
  );
  // exec id: pid and the time of the last exec; the start time is the clone's
  for (const p of [sh, wl, child]) {
    const ex = execOf(p.pid);
    assert.equal(p.execNs, ex.ts);
    assert.equal(p.execId, makeExecId(p.pid, ex.ts));
    assert.equal(p.startNs, ex.bigArgs[9]);
  }
  const forkOfChild = raws.find((r) => r.kind === K.CLONE && r.args[1] === CHILD)!;
  assert.equal(child.startNs, forkOfChild.bigArgs[2], 'start time: the fork, not the exec');
  // the child's events before its exec carry the fork's exec id, after it the exec's
  const ids = events.filter((e) => e.proc.pid === CHILD).map((e) => [e.evt.type, e.proc.exec_id]);
  assert.deepEqual(ids.slice(0, 3), [
    ['close', makeExecId(CHILD, forkOfChild.bigArgs[2]!)],
    ['execve', makeExecId(CHILD, forkOfChild.bigArgs[2]!)], // the failed exec changes nothing
    ['execve', makeExecId(CHILD, execOf(CHILD).ts)],
  ]);
  // every process exited; still there for the grace period, gone after it
  for (const p of [sh, wl, child]) assert.equal(typeof p.exitedAt, 'number');
  assert.equal(procs.sweep(Date.now()), 0);
  assert.equal(procs.sweep(Date.now() + 5001), 3);
  assert.equal(procs.procs.size, 0);
});

test("recorded workload: the shell's parent is nowhere (the sensor ignores its own process): no ancestor, counted once", () => {
  const { procs, events } = replay();
  assert.deepEqual(procs.stats, { size: 3, seeded: 0, fromProc: 0, evicted: 0, missing: 1 });
  const sh = procs.get(SH)!;
  assert.equal(procs.get(sh.ppid), undefined);
  assert.deepEqual(procs.ancestors(sh), []);
  assert.deepEqual(
    procs.ancestors(procs.get(CHILD)!).map((p) => p.pid),
    [WL, SH],
  );
  // the shell's first events come before its exec (the forked node child closing and opening its
  // stdio): a minimal process from the record itself, with the record's comm
  const first = events[0]!;
  assert.equal(first.proc.pid, SH);
  assert.equal(first.proc.name, 'node');
  assert.deepEqual(first.proc.aname, []);
});

/** Writes /proc/PID of a fake process into `root`. */
function fakeProc(root: string, pid: number, o: { ppid: number; comm: string; argv: string[]; environ?: string; start: number }): void {
  const d = path.join(root, String(pid));
  mkdirSync(path.join(d, 'ns'), { recursive: true });
  // fields after the comm: state ppid pgrp session tty_nr tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads itrealvalue starttime
  writeFileSync(path.join(d, 'stat'), `${pid} (${o.comm}) S ${o.ppid} ${pid} ${o.ppid} 34817 -1 4194560 0 0 0 0 0 0 0 0 20 0 1 0 ${o.start} 0 0\n`);
  writeFileSync(
    path.join(d, 'status'),
    `Name:\t${o.comm}\nUid:\t1000\t1001\t1000\t1000\nGid:\t100\t100\t100\t100\nCapInh:\t0000000000000000\nCapPrm:\t0000000000003000\nCapEff:\t0000000000001000\nNSpid:\t${pid}\t7\n`,
  );
  writeFileSync(path.join(d, 'cmdline'), o.argv.join('\0') + '\0');
  writeFileSync(path.join(d, 'loginuid'), '1000');
  if (o.environ !== undefined) writeFileSync(path.join(d, 'environ'), o.environ);
  symlinkSync('/usr/bin/python3.11', path.join(d, 'exe'));
  symlinkSync('/srv/app', path.join(d, 'cwd'));
  symlinkSync('mnt:[4026532999]', path.join(d, 'ns', 'mnt'));
}

test('processes read from a /proc directory (procRoot): exact fields, lazily once, seed, environment redacted', (t) => {
  const root = mkdtempSync(path.join(os.tmpdir(), 'vigil-fakeproc-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  fakeProc(root, 4242, {
    ppid: 4241,
    comm: 'my app)',
    argv: ['python3', 'app.py', '--port', '8080'],
    environ: 'PATH=/bin\0AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMI\0HOME=/root\0',
    start: 12345,
  });
  fakeProc(root, 4241, { ppid: 1, comm: 'bash', argv: ['-bash'], start: 100 });
  mkdirSync(path.join(root, 'self'));
  const procs = new ProcTable({ procRoot: root });
  const p = procs.lookup(4242)!;
  const { fds, ...rest } = p;
  assert.equal(fds.size, 0);
  assert.deepEqual(rest, {
    pid: 4242,
    ppid: 4241,
    name: 'my app)', // the comm is everything between the first '(' and the last ')'
    exepath: '/usr/bin/python3.11',
    exe: 'python3',
    args: ['app.py', '--port', '8080'],
    argsTruncated: false,
    cwd: '/srv/app',
    tty: 34817,
    sid: 4241,
    pgid: 4242,
    vpid: 7,
    uid: 1000,
    euid: 1001,
    gid: 100,
    loginuid: 1000,
    capEff: 0x1000,
    capPrm: 0x3000,
    capInh: 0,
    startNs: 12345n * 10_000_000n, // clock ticks (USER_HZ 100) to ns
    execNs: 12345n * 10_000_000n,
    execId: makeExecId(4242, 123450000000n),
    mntns: 4026532999,
    seeded: true,
  });
  assert.equal(procs.stats.fromProc, 1);
  assert.equal(procs.lookup(4242), p, 'read once, then from the table');
  assert.equal(procs.stats.fromProc, 1);
  assert.equal(procs.lookup(999), undefined);
  assert.deepEqual(
    procs.ancestors(p).map((a) => [a.pid, a.name, a.exe]),
    [[4241, 'bash', '-bash']],
  );
  assert.equal(procs.stats.fromProc, 2);

  // the environment: none until some consumer needs it; then read for the processes from /proc,
  // credentials redacted; cut at env_max and marked truncated
  assert.equal(p.env, undefined);
  procs.setEnvMax(4096);
  assert.deepEqual(p.env, ['PATH=/bin', 'AWS_SECRET_ACCESS_KEY=***REDACTED***', 'HOME=/root']);
  assert.equal(p.envTruncated, undefined);
  const small = new ProcTable({ procRoot: root });
  small.setEnvMax(12);
  const q = small.lookup(4242)!;
  assert.deepEqual(q.env, ['PATH=/bin', 'AW']);
  assert.equal(q.envTruncated, true);

  const seeded = new ProcTable({ procRoot: root });
  assert.equal(seeded.seed(), 2, "numeric entries only ('self' is not a process)");
  assert.deepEqual(seeded.stats, { size: 2, seeded: 2, fromProc: 0, evicted: 0, missing: 0 });
});

function proc(pid: number, ppid: number): Proc {
  return {
    pid,
    ppid,
    name: `p${pid}`,
    exepath: `/bin/p${pid}`,
    exe: `p${pid}`,
    args: [],
    argsTruncated: false,
    cwd: '/',
    tty: 0,
    sid: 0,
    pgid: 0,
    vpid: pid,
    uid: 0,
    gid: 0,
    euid: 0,
    loginuid: 0,
    capEff: 0,
    capPrm: 0,
    capInh: 0,
    startNs: 0n,
    execNs: 0n,
    execId: makeExecId(pid, 0n),
    mntns: 0,
    fds: new Map(),
  };
}

test('ancestry: nearest first, 16 by default, any depth on request, stops at a missing parent and at a loop', () => {
  const procs = new ProcTable({ procRoot: path.join(os.tmpdir(), 'vigil-no-such-proc') });
  for (let pid = 100; pid < 130; pid++) procs.set(proc(pid, pid === 100 ? 1 : pid - 1)); // 1 is nowhere
  const leaf = procs.get(129)!;
  assert.deepEqual(
    procs.ancestors(leaf).map((p) => p.pid),
    Array.from({ length: 16 }, (_, i) => 128 - i),
  );
  assert.deepEqual(
    procs.ancestors(leaf, 3).map((p) => p.pid),
    [128, 127, 126],
  );
  assert.deepEqual(
    procs.ancestors(leaf, 100).map((p) => p.pid),
    Array.from({ length: 29 }, (_, i) => 128 - i),
  );
  assert.deepEqual(procs.ancestors(procs.get(100)!), []);
  assert.equal(procs.stats.fromProc, 0);
  // pid reuse can make a loop: it ends where a pid repeats
  procs.set(proc(200, 201));
  procs.set(proc(201, 202));
  procs.set(proc(202, 200));
  assert.deepEqual(
    procs.ancestors(procs.get(200)!).map((p) => p.pid),
    [201, 202],
  );
  assert.deepEqual(procs.ancestors(proc(300, 300)), [], 'its own parent');
});

test('bounded: at the size limit the oldest exited process goes first, else the oldest; evictions counted', () => {
  const procs = new ProcTable({ maxSize: 3, graceMs: 1000, procRoot: path.join(os.tmpdir(), 'vigil-no-such-proc') });
  procs.set(proc(1, 0));
  procs.set(proc(2, 1));
  procs.set(proc(3, 1));
  procs.markExited(2);
  procs.set(proc(4, 1));
  assert.deepEqual([...procs.procs.keys()], [1, 3, 4]);
  procs.set(proc(5, 1));
  assert.deepEqual([...procs.procs.keys()], [3, 4, 5]);
  assert.equal(procs.stats.evicted, 2);
  procs.set({ ...proc(4, 1), name: 'again' }); // replacing an entry evicts nothing
  assert.equal(procs.stats.evicted, 2);
  assert.equal(procs.get(4)!.name, 'again');
  // grace period
  procs.markExited(3);
  const at = procs.get(3)!.exitedAt!;
  assert.equal(procs.sweep(at + 1000), 0);
  assert.equal(procs.sweep(at + 1001), 1);
  assert.deepEqual([...procs.procs.keys()], [4, 5]);
  assert.equal(procs.stats.size, 2);
});
