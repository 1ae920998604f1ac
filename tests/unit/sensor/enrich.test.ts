// Enricher (src/sensor/enrich.ts) without a kernel and without host state (no /proc, /etc/passwd,
// cgroup hierarchy or runtime state: tests/helpers/frames.ts hostFreeCore): the fd tables of the
// recorded workload step by step (open, dup, dup2, dup3, close, a failed close, a directory fd,
// openat on it, a thread, a fork whose copy of the table is its own), relative paths resolved from
// the kernel's base directory (cwd or dirfd) or, when the kernel sent none, the process's cwd,
// ancestry fields, and frames built with the ABI mirror for what a recording cannot show on demand.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { EXEC_A, EXE_WRITABLE, FDT, FD_A, K, NARGS } from '../../../src/abi/layout.ts';
import { Enricher, resolvePath } from '../../../src/sensor/enrich.ts';
import { ProcTable, type Proc } from '../../../src/sensor/proctable.ts';
import { CgroupIndex } from '../../../src/sensor/container.ts';
import { UserDb } from '../../../src/sensor/users.ts';
import type { VigilEvent } from '../../../src/abi/event.ts';
import { NoProcContainers, decodeAll, eventFrame, hostFreeCore, recorded, splitFrames, type EventSpec } from '../../helpers/frames.ts';

const { bytes, meta } = recorded();
const D = meta.dir;
const [SH, WL, CHILD] = meta.pids as [number, number, number];

/** The fd table of a process as [num, type, name] rows, by fd number. */
function table(p: Proc | undefined): [number, string | undefined, string | undefined][] {
  return [...(p?.fds ?? new Map()).entries()].sort(([a], [b]) => a - b).map(([n, f]) => [n, f.type, f.name]);
}

const NULL3: [number, string, string][] = [0, 1, 2].map((n) => [n, 'file', '/dev/null']);
const A = `${D}/sub/a.txt`;

test('recorded workload: fd tables through open, dup, dup2, dup3, close, a failed close, a directory fd and openat on it', () => {
  const core = hostFreeCore();
  const snap = new Map<number, ReturnType<typeof table>>(); // evt.num -> the workload's table after it
  for (const f of splitFrames(bytes)) {
    const n = core.events.length;
    core.decoder.push(f);
    for (const ev of core.events.slice(n)) snap.set(ev.evt.num, table(core.procs.get(WL)));
  }
  const wl = core.events.filter((e) => e.proc.pid === WL && e.thread.tid === WL);
  const at = (pred: (e: VigilEvent) => boolean) => {
    const e = wl.find(pred);
    assert.ok(e, 'event not found');
    return e;
  };
  const open = at((e) => e.evt.type === 'openat' && e.evt.arg.name === 'sub/a.txt');
  assert.deepEqual(open.evt.arg, { fd: 3, name: 'sub/a.txt', flags: 'O_RDONLY', mode: '', dirfd: -100, dev: open.evt.rawarg.dev, ino: open.evt.rawarg.ino });
  assert.deepEqual(open.fd, {
    type: 'file',
    typechar: 'f',
    nameraw: 'sub/a.txt',
    num: 3,
    name: A,
    directory: `${D}/sub`,
    filename: 'a.txt',
    name_changed: true,
  });
  assert.deepEqual(snap.get(open.evt.num), [...NULL3, [3, 'file', A]]);

  const dupFields = (num: number) => ({ type: 'file', typechar: 'f', nameraw: 'sub/a.txt', num, name: A, directory: `${D}/sub`, filename: 'a.txt' });
  const dup = at((e) => e.evt.type === 'dup');
  assert.deepEqual(dup.evt.arg, { res: 4, oldfd: 3 });
  assert.deepEqual(dup.fd, dupFields(4));
  const dup2 = at((e) => e.evt.type === 'dup2');
  assert.deepEqual(dup2.evt.arg, { res: 10, oldfd: 3, newfd: 10 });
  assert.deepEqual(dup2.fd, dupFields(10));
  const dup3 = at((e) => e.evt.type === 'dup3');
  assert.deepEqual(dup3.evt.arg, { res: 11, oldfd: 3, newfd: 11, flags: 0o2000000 });
  assert.deepEqual(dup3.fd, dupFields(11));
  assert.deepEqual(snap.get(dup3.evt.num), [...NULL3, [3, 'file', A], [4, 'file', A], [10, 'file', A], [11, 'file', A]]);

  const [close4, badClose4] = wl.filter((e) => e.evt.type === 'close' && e.evt.arg.fd === 4);
  assert.deepEqual([close4!.evt.res, close4!.evt.failed], [0, false]);
  assert.deepEqual(close4!.fd, dupFields(4), 'a close carries what the fd was');
  assert.deepEqual(snap.get(close4!.evt.num), [...NULL3, [3, 'file', A], [10, 'file', A], [11, 'file', A]]);
  assert.deepEqual([badClose4!.evt.res, badClose4!.evt.failed], [-9, true]);
  assert.deepEqual(badClose4!.fd, { num: 4 }, 'nothing known about a closed fd');
  assert.deepEqual(snap.get(badClose4!.evt.num), snap.get(close4!.evt.num));

  const dir = at((e) => e.evt.type === 'openat' && e.evt.arg.name === 'sub');
  assert.equal(dir.evt.arg.flags, 'O_RDONLY|O_DIRECTORY');
  assert.deepEqual(dir.fd, {
    type: 'directory',
    typechar: 'd',
    nameraw: 'sub',
    num: 4,
    name: `${D}/sub`,
    directory: `${D}/sub`,
    filename: 'sub',
    name_changed: true,
  });
  const viaDirfd = at((e) => e.evt.type === 'openat' && e.evt.arg.dirfd === 4);
  assert.deepEqual(viaDirfd.fd, {
    type: 'file',
    typechar: 'f',
    nameraw: 'b.txt',
    num: 5,
    name: `${D}/sub/b.txt`,
    directory: `${D}/sub`,
    filename: 'b.txt',
    name_changed: true,
  });
  assert.deepEqual(snap.get(viaDirfd.evt.num), [
    ...NULL3,
    [3, 'file', A],
    [4, 'directory', `${D}/sub`],
    [5, 'file', `${D}/sub/b.txt`],
    [10, 'file', A],
    [11, 'file', A],
  ]);

  // after chdir(sub): the kernel sends the new cwd as the base; '..' is normalised
  const up = at((e) => e.evt.arg.name === '../sub/a.txt');
  assert.deepEqual(up.fd, {
    type: 'file',
    typechar: 'f',
    nameraw: '../sub/a.txt',
    num: 5,
    name: A,
    directory: `${D}/sub`,
    filename: 'a.txt',
    name_changed: true,
  });
  assert.equal(up.proc.cwd, `${D}/`, "proc.cwd is the exec's; the kernel's base is what resolves");
  // a failed open: a name, no fd number, nothing in the table
  const missing = at((e) => e.evt.arg.name === 'missing.txt');
  assert.deepEqual([missing.evt.res, missing.evt.failed, missing.evt.arg.fd], [-2, true, -2]);
  assert.deepEqual(missing.fd, {
    type: 'file',
    typechar: 'f',
    nameraw: 'missing.txt',
    name: `${D}/sub/missing.txt`,
    directory: `${D}/sub`,
    filename: 'missing.txt',
    name_changed: true,
  });
  assert.deepEqual(snap.get(missing.evt.num), [...NULL3, [3, 'file', A], [4, 'directory', `${D}/sub`], [10, 'file', A], [11, 'file', A]]);
});

test("recorded workload: a thread shares the process's table; a fork gets its own copy", () => {
  const core = hostFreeCore();
  let wlAtChildClose: ReturnType<typeof table> | undefined;
  let childAtClose: ReturnType<typeof table> | undefined;
  for (const f of splitFrames(bytes)) {
    const n = core.events.length;
    core.decoder.push(f);
    for (const ev of core.events.slice(n)) {
      if (ev.proc.pid === CHILD && ev.evt.type === 'close' && ev.evt.arg.fd === 10) {
        wlAtChildClose = table(core.procs.get(WL));
        childAtClose = table(core.procs.get(CHILD));
      }
    }
  }
  const threadOpen = core.events.find((e) => e.proc.pid === WL && e.thread.tid !== WL && e.evt.type === 'openat')!;
  assert.equal(threadOpen.evt.arg.name, 'b.txt');
  assert.deepEqual(threadOpen.fd, {
    type: 'file',
    typechar: 'f',
    nameraw: 'b.txt',
    num: 5,
    name: `${D}/sub/b.txt`,
    directory: `${D}/sub`,
    filename: 'b.txt',
    name_changed: true,
  });
  const threadClose = core.events.find((e) => e.proc.pid === WL && e.thread.tid !== WL && e.evt.type === 'close')!;
  assert.equal(threadClose.fd!.name, `${D}/sub/b.txt`, "the thread closes what it opened, from the process's table");

  const common: ReturnType<typeof table> = [...NULL3, [3, 'file', A], [4, 'directory', `${D}/sub`]];
  assert.deepEqual(childAtClose, [...common, [11, 'file', A]], "the child's close(10) removes its copy");
  assert.deepEqual(wlAtChildClose, [...common, [10, 'file', A], [11, 'file', A]], "the parent's fd 10 stays");
  const parentClose10 = core.events.filter((e) => e.proc.pid === WL && e.evt.type === 'close' && e.evt.arg.fd === 10);
  assert.equal(parentClose10.length, 1);
  assert.deepEqual(parentClose10[0]!.fd, { type: 'file', typechar: 'f', nameraw: 'sub/a.txt', num: 10, name: A, directory: `${D}/sub`, filename: 'a.txt' });
  // the child, after exec, opens relative to the cwd it inherited (DIR/sub)
  const create = core.events.find((e) => e.proc.pid === CHILD && e.evt.arg.name === 'c.txt')!;
  assert.deepEqual(create.evt.arg, {
    fd: 5,
    name: 'c.txt',
    flags: 'O_WRONLY|O_CREAT|O_TRUNC',
    mode: 'S_IRGRP|S_IWUSR|S_IRUSR',
    dirfd: -100,
    dev: create.evt.rawarg.dev,
    ino: create.evt.rawarg.ino,
  });
  assert.equal(create.fd!.name, `${D}/sub/c.txt`);
  // final tables
  assert.deepEqual(table(core.procs.get(WL)), [...common, [11, 'file', A]]);
  assert.deepEqual(table(core.procs.get(CHILD)), [...common, [11, 'file', A]]);
});

test('recorded workload: process, ancestry, user and container fields of the exec events', () => {
  const core = hostFreeCore();
  core.decoder.push(bytes);
  const execs = core.events.filter((e) => e.evt.type === 'execve' && e.evt.res === 0);
  assert.deepEqual(
    execs.map((e) => e.proc.pid),
    [SH, WL, CHILD],
  );
  const [sh, wl, child] = execs as [VigilEvent, VigilEvent, VigilEvent];
  const raw = core.raws.find((r) => r.kind === K.EXECVE && r.pid === CHILD)!;
  assert.equal(raw.args[EXEC_A.EXE_FLAGS]! & EXE_WRITABLE, EXE_WRITABLE, 'root can write the workload binary');
  assert.deepEqual(child.evt.arg, {
    res: 0,
    exe: `${D}/workload`,
    args: 'child x y',
    cwd: `${D}/sub`,
    tid: CHILD,
    pid: CHILD,
    ptid: WL,
    filename: '../workload',
    flags: 'EXE_WRITABLE',
  });
  assert.equal(child.evt.rawarg.flags, 1);
  const pick = (e: VigilEvent) => {
    const p = e.proc;
    return {
      pid: p.pid,
      ppid: p.ppid,
      name: p.name,
      exe: p.exe,
      exepath: p.exepath,
      args: p.args,
      cmdline: p.cmdline,
      cwd: p.cwd,
      aname: p.aname,
      apid: p.apid,
      aexe: p.aexe,
      aexepath: p.aexepath,
      pname: p.pname,
      pexe: p.pexe,
      pexepath: p.pexepath,
      pcmdline: p.pcmdline,
      is_exe_writable: p.is_exe_writable,
    };
  };
  assert.deepEqual(pick(child), {
    pid: CHILD,
    ppid: WL,
    name: 'workload',
    exe: 'workload',
    exepath: `${D}/workload`,
    args: 'child x y',
    cmdline: 'workload child x y',
    cwd: `${D}/sub/`,
    aname: ['workload', 'sh'],
    apid: [WL, SH],
    aexe: ['./workload', '/bin/sh'],
    aexepath: [`${D}/workload`, '/usr/bin/dash'],
    pname: 'workload',
    pexe: './workload',
    pexepath: `${D}/workload`,
    pcmdline: 'workload',
    is_exe_writable: true,
  });
  assert.deepEqual([wl.proc.aname, wl.proc.apid, wl.proc.pname, wl.proc.pcmdline], [['sh'], [SH], 'sh', `sh -c cd ${D} && ./workload && exit 0`]);
  // the shell's parent is the recorder, which the sensor never reports: no parent fields
  assert.deepEqual([sh.proc.aname, sh.proc.apid, sh.proc.pname], [[], [], undefined]);
  const loginuid = raw.loginuid === 0xffffffff ? -1 : raw.loginuid;
  assert.deepEqual(child.user, { uid: 0, loginuid, name: 'root', homedir: '/root', shell: '/bin/bash' });
  assert.deepEqual(child.group, { gid: 0, name: 'root' });
  assert.deepEqual(child.container, { id: 'host', name: 'host' });
  assert.deepEqual(child.thread, { tid: CHILD, cap_effective: child.thread.cap_effective, cap_permitted: child.thread.cap_permitted, cap_inheritable: '' });
  // the failed exec and the exit
  const failed = core.events.find((e) => e.evt.type === 'execve' && e.evt.res < 0)!;
  assert.deepEqual([failed.proc.pid, failed.evt.res, failed.evt.arg.filename], [CHILD, -2, '/nonexistent/nope']);
  const exits = core.events.filter((e) => e.evt.type === 'procexit');
  assert.deepEqual(
    exits.map((e) => [e.proc.pid, e.evt.arg]),
    [
      [CHILD, { status: 3, sig: 0, core: 0 }],
      [WL, { status: 0, sig: 0, core: 0 }],
      [SH, { status: 0, sig: 0, core: 0 }],
    ],
  );
  assert.deepEqual(core.enricher.stats, { unknownKind: 0, errors: 0 });
  assert.deepEqual(
    core.events.map((e) => e.evt.num),
    Array.from({ length: core.events.length }, (_, i) => i + 1),
  );
});

test('resolvePath: absolute paths normalised, relative ones joined with the base, else the cwd, else /', () => {
  assert.equal(resolvePath('', '/b', '/c'), '');
  assert.equal(resolvePath('/a/../etc//shadow', '/b', '/c'), '/etc/shadow');
  assert.equal(resolvePath('x/./y', '/base', '/cwd'), '/base/x/y');
  assert.equal(resolvePath('../x', '/base/dir', '/cwd'), '/base/x');
  assert.equal(resolvePath('x', '', '/cwd'), '/cwd/x');
  assert.equal(resolvePath('x', '', ''), '/x');
  assert.equal(resolvePath('../../../x', '/a', ''), '/x');
});

/** A successful exec of pid (cwd given), as the sched_process_exec record carries it. */
function execFrame(pid: number, ppid: number, cwd: string, argv: string[], o: Partial<EventSpec> = {}): Buffer {
  const args = new Array<number | bigint>(NARGS).fill(0);
  args[EXEC_A.START] = 5_000_000_000n;
  args[EXEC_A.SID_PGID] = (BigInt(ppid) << 32n) | BigInt(pid);
  return eventFrame({
    kind: K.EXECVE,
    pid,
    ppid,
    comm: argv[0]!.slice(0, 15),
    syscall: 59,
    ts: 6_000_000_000n,
    args,
    strs: [`/usr/bin/${argv[0]}`, argv.join('\0') + '\0', cwd, argv[0]!],
    ...o,
  });
}

function openatFrame(pid: number, res: number, raw: string, base: string, o: { dirfd?: number; type?: number } = {}): Buffer {
  const args = new Array<number>(NARGS).fill(0);
  args[0] = res;
  args[1] = o.dirfd ?? -100;
  if (res >= 0) args[FD_A.TYPE] = o.type ?? FDT.FILE;
  return eventFrame({ kind: K.OPENAT, pid, res, syscall: 257, args, strs: [raw, base] });
}

test('built frames: with no base from the kernel, a relative path resolves against the exec cwd; two-path and path-only kinds', () => {
  const core = hostFreeCore();
  core.decoder.push(execFrame(500, 499, '/srv/app', ['server', '--port', '80']));
  core.decoder.push(openatFrame(500, 3, 'data/x.db', '')); // e.g. the dirfd's path could not be read
  core.decoder.push(openatFrame(500, 4, 'data/y.db', '/var/lib', { dirfd: 9 }));
  core.decoder.push(openatFrame(500, 5, 'logs', '/srv/app', { type: FDT.DIRECTORY }));
  const strs = (s: string[]) => ({ strs: s, res: 0, syscall: 0 });
  core.decoder.push(eventFrame({ kind: K.RENAMEAT, pid: 500, args: [0, -100, -100], ...strs(['a.tmp', '', '../b.conf', '/etc/app']) }));
  core.decoder.push(eventFrame({ kind: K.SYMLINKAT, pid: 500, args: [0, -100], ...strs(['../../etc/shadow', '', 'link', '/tmp']) }));
  core.decoder.push(eventFrame({ kind: K.UNLINKAT, pid: 500, args: [0, 0, 0, -100], ...strs(['old.log', '/var/log/app']) }));
  const [exec, o1, o2, o3, ren, sym, unl] = core.events as VigilEvent[];
  assert.equal(exec!.proc.cwd, '/srv/app/');
  assert.equal(exec!.proc.cmdline, 'server --port 80');
  assert.deepEqual([o1!.fd!.name, o1!.fd!.name_changed], ['/srv/app/data/x.db', true]);
  assert.deepEqual([o2!.fd!.name, o2!.evt.arg.dirfd], ['/var/lib/data/y.db', 9]);
  assert.deepEqual(o3!.fd, {
    type: 'directory',
    typechar: 'd',
    nameraw: 'logs',
    num: 5,
    name: '/srv/app/logs',
    directory: '/srv/app/logs',
    filename: 'logs',
    name_changed: true,
  });
  assert.deepEqual(ren!.fs, { path: { source: '/srv/app/a.tmp', sourceraw: 'a.tmp', target: '/etc/b.conf', targetraw: '../b.conf' } });
  assert.deepEqual(
    sym!.fs,
    { path: { source: '../../etc/shadow', sourceraw: '../../etc/shadow', target: '/tmp/link', targetraw: 'link' } },
    "a symlink's target is kept as given",
  );
  assert.deepEqual(unl!.fs, { path: { name: '/var/log/app/old.log', nameraw: 'old.log' } });
  assert.deepEqual(unl!.evt.arg, { res: 0, dirfd: -100, name: 'old.log', flags: 0 });
  assert.deepEqual(table(core.procs.get(500)), [
    [3, 'file', '/srv/app/data/x.db'],
    [4, 'file', '/var/lib/data/y.db'],
    [5, 'directory', '/srv/app/logs'],
  ]);
});

test("built frames: dup of an fd the table does not know takes the kernel's description; a failed dup adds nothing", () => {
  const core = hostFreeCore();
  core.decoder.push(execFrame(600, 1, '/', ['app']));
  const dupArgs = (oldfd: number, newfd: number, type: number, ino: number) => {
    const a = new Array<number>(NARGS).fill(0);
    a[0] = oldfd;
    a[1] = newfd;
    a[FD_A.TYPE] = type;
    a[FD_A.INO] = ino;
    return a;
  };
  // fd 7 opened before the sensor started: only the kernel knows it
  core.decoder.push(eventFrame({ kind: K.DUP2, pid: 600, res: 9, syscall: 33, args: dupArgs(7, 9, FDT.FILE, 1234), strs: ['/var/log/app.log'] }));
  core.decoder.push(eventFrame({ kind: K.DUP, pid: 600, res: -9, syscall: 32, args: dupArgs(8, 0, 0, 0), strs: [''] }));
  // a pipe: no name, no directory or filename
  core.decoder.push(eventFrame({ kind: K.DUP, pid: 600, res: 10, syscall: 32, args: dupArgs(9, 0, FDT.PIPE, 77), strs: [''] }));
  const [, d2, bad, pipe] = core.events as VigilEvent[];
  assert.deepEqual(d2!.fd, { type: 'file', typechar: 'f', ino: 1234, name: '/var/log/app.log', num: 9, directory: '/var/log', filename: 'app.log' });
  assert.deepEqual(d2!.evt.arg, { res: 9, oldfd: 7, newfd: 9 });
  assert.deepEqual([bad!.evt.failed, bad!.fd!.num], [true, 8]);
  assert.deepEqual(pipe!.fd, { type: 'pipe', typechar: 'p', ino: 77, num: 10 });
  assert.deepEqual(table(core.procs.get(600)), [
    [9, 'file', '/var/log/app.log'],
    [10, 'pipe', undefined],
  ]);
  // close of an fd known only through that dup
  const close = new Array<number>(NARGS).fill(0);
  close[0] = 9;
  core.decoder.push(eventFrame({ kind: K.CLOSE, pid: 600, res: 0, syscall: 3, args: close }));
  assert.deepEqual(core.events.at(-1)!.fd, {
    type: 'file',
    typechar: 'f',
    ino: 1234,
    name: '/var/log/app.log',
    num: 9,
    directory: '/var/log',
    filename: 'app.log',
  });
  assert.deepEqual(table(core.procs.get(600)), [[10, 'pipe', undefined]]);
});

test('built frames: an unknown kind is counted and skipped, the stream goes on', () => {
  const core = hostFreeCore();
  core.decoder.push(Buffer.concat([eventFrame({ kind: 127, pid: 700 }), execFrame(700, 1, '/', ['x'])]));
  assert.equal(core.raws.length, 2);
  assert.deepEqual(
    core.events.map((e) => e.evt.type),
    ['execve'],
  );
  assert.deepEqual(core.enricher.stats, { unknownKind: 1, errors: 0 });
});

test("built frames: container, pod and user identity from a cgroup tree and runtime state in temp dirs, not the host's", (t) => {
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-enrich-ctr-'));
  t.after(() => rmSync(tmp, { recursive: true, force: true }));
  const id = 'ab'.repeat(32);
  const podUid = '11111111-2222-3333-4444-555555555555';
  const cgRoot = path.join(tmp, 'cgroup');
  const cgDir = path.join(cgRoot, 'kubepods', 'besteffort', `pod${podUid}`, id);
  mkdirSync(cgDir, { recursive: true });
  const runc = path.join(tmp, 'runc');
  const bundle = path.join(tmp, 'bundle');
  const rootfs = path.join(bundle, 'rootfs');
  mkdirSync(path.join(runc, id), { recursive: true });
  mkdirSync(path.join(rootfs, 'etc'), { recursive: true });
  writeFileSync(
    path.join(runc, id, 'state.json'),
    JSON.stringify({
      id,
      created: '2026-01-02T03:04:05.123456789Z',
      config: { labels: [`bundle=${bundle}`], rootfs, capabilities: { bounding: ['CAP_CHOWN', 'CAP_NET_BIND_SERVICE'] } },
    }),
  );
  const annotations = {
    'io.kubernetes.pod.name': 'web-1',
    'io.kubernetes.pod.namespace': 'shop',
    'io.kubernetes.pod.uid': podUid,
    'io.kubernetes.container.name': 'nginx',
    'io.kubernetes.cri.image-name': 'docker.io/library/nginx:1.27',
  };
  writeFileSync(path.join(bundle, 'config.json'), JSON.stringify({ annotations, process: { env: ['PATH=/usr/bin'] } }));
  writeFileSync(path.join(rootfs, 'etc', 'passwd'), 'root:x:0:0:root:/root:/bin/sh\nnginx:x:101:101:nginx:/var/cache/nginx:/sbin/nologin\n');
  writeFileSync(path.join(rootfs, 'etc', 'group'), 'root:x:0:\nnginx:x:101:\n');
  const empty = path.join(tmp, 'empty');
  mkdirSync(empty);
  const procs = new ProcTable({ procRoot: empty });
  const enricher = new Enricher(
    procs,
    new NoProcContainers({ runc: [runc], docker: empty, containerdTasks: [empty], crio: empty }),
    new UserDb(),
    new CgroupIndex(cgRoot),
  );
  const build = (f: Buffer) => enricher.build(decodeAll(f)[0]!)!;
  const cg = BigInt(statSync(cgDir).ino);
  const ev = build(execFrame(800, 1, '/', ['nginx'], { cgroupId: cg, uid: 101, gid: 101 }));
  assert.deepEqual(ev.container, {
    id: id.slice(0, 12),
    full_id: id,
    name: 'nginx',
    type: 'runc',
    image: 'docker.io/library/nginx:1.27',
    'image.repository': 'docker.io/library/nginx',
    'image.tag': '1.27',
    privileged: false,
    start_ts: '1767323045123456789',
  });
  assert.deepEqual(ev.k8s, { ns: { name: 'shop' }, pod: { name: 'web-1', uid: podUid } });
  assert.deepEqual(
    ev.user,
    { uid: 101, loginuid: -1, name: 'nginx', homedir: '/var/cache/nginx', shell: '/sbin/nologin' },
    "the container's /etc/passwd, not the host's",
  );
  assert.deepEqual(ev.group, { gid: 101, name: 'nginx' });
  assert.deepEqual(ev.cgroup, { id: cg.toString() });
  // the cgroup root itself: no container id in the path, so the host
  const host = build(execFrame(801, 1, '/', ['sshd'], { cgroupId: BigInt(statSync(cgRoot).ino) }));
  assert.deepEqual(host.container, { id: 'host', name: 'host' });
});
