// FROZEN BASELINE for bench/decode-throughput.ts: src/sensor/enrich.ts as of d23a1e5 (before issue 10's fast
// pipeline), imports rewritten to point into src/. Not used by the product; kept so the bench can measure old
// against new in the same run.
// Enricher: the user-space half of the pipeline. Takes one RawEvent, updates the process table
// and fd tables it implies (exec, clone, exit, open, socket, connect, dup, close, set*id,
// capset), and builds the VigilEvent with Falco-named fields: process, ancestry, user and group
// names, container and pod identity, fd fields. Never throws on odd input: a record it cannot
// make sense of is counted and skipped.
import path from 'node:path';
import { EXEC_A, EXE_LOWER, EXE_MEMFD, EXE_UPPER, EXE_WRITABLE, F_THREAD, F_TRUNCATED, K, S_TRUNCATED } from '../../src/abi/layout.ts';
import { KIND_BY_ID, renderCaps, u64Value, type FdInfo, type RawEvent } from './kinds.ts';
import { A } from '../../src/abi/kinds.gen.ts';
import { makeExecId, splitEnv, type Proc, type ProcTable } from '../../src/sensor/proctable.ts';
import { HOST, CgroupIndex, matchCgroupPath, type CgroupMatch, type ContainerInfo, type ContainerResolver } from '../../src/sensor/container.ts';
import type { UserDb } from '../../src/sensor/users.ts';
import type { FieldTree, VigilEvent } from '../../src/abi/event.ts';

/** Falco's execve flag bits (PPM_EXE_*), for evt.rawarg.flags. */
const PPM_EXE_WRITABLE = 1;
const PPM_EXE_UPPER_LAYER = 2;
const PPM_EXE_FROM_MEMFD = 4;
const PPM_EXE_LOWER_LAYER = 8;

interface ProcView {
  gen: number;
  execGen: number;
  uid: number;
  euid: number;
  gid: number;
  loginuid: number;
  mntns: number;
  netns: number;
  cgroupId: bigint;
  proc: FieldTree;
  capEff: string;
  capPrm: string;
  capInh: string;
  user: FieldTree;
  group: FieldTree;
  container: VigilEvent['container'];
  k8s: FieldTree | undefined;
  ns: FieldTree;
  cgroup: FieldTree;
}

export interface EnrichStats {
  unknownKind: number;
  errors: number;
}

/** Joins a path as passed with the directory it is relative to, and normalises it. */
export function resolvePath(raw: string, base: string, cwd: string): string {
  if (raw === '') return '';
  if (raw.startsWith('/')) return path.posix.normalize(raw);
  const dir = base || cwd || '/';
  return path.posix.normalize(`${dir}/${raw}`);
}

function dirOf(p: string): string {
  const i = p.lastIndexOf('/');
  if (i <= 0) return '/';
  return p.slice(0, i);
}

function baseOf(p: string): string {
  const i = p.lastIndexOf('/');
  return i < 0 ? p : p.slice(i + 1);
}

export class Enricher {
  num = 0;
  stats: EnrichStats = { unknownKind: 0, errors: 0 };
  bootOffsetNs = 0n;

  constructor(
    readonly procs: ProcTable,
    readonly containers: ContainerResolver,
    readonly users: UserDb,
    /** the cgroup v2 hierarchy to resolve cgroup ids in (default: the host's mount) */
    readonly cgroups: CgroupIndex = new CgroupIndex(),
  ) {
    this.unifiedCgroups = cgroups.root === '/sys/fs/cgroup';
  }

  private epoch(tsBoot: bigint): bigint {
    return this.bootOffsetNs + tsBoot;
  }

  private byCgroup = new Map<bigint, CgroupMatch | null>();

  /** Container from the event's cgroup v2 id (exact at syscall time); null when the id says nothing. */
  private containerOfCgroup(id: bigint): ContainerInfo | null {
    let m = this.byCgroup.get(id);
    if (m === undefined) {
      const cgPath = this.cgroups.path(id);
      if (cgPath === undefined) return null; // unknown yet: not cached, retried on the next event
      m = matchCgroupPath(cgPath) ?? null;
      this.byCgroup.set(id, m);
    }
    return m ? this.containers.forMatch(m) : null;
  }

  /** On a pure cgroup v2 host (cgroup2 mounted at /sys/fs/cgroup) cgroup id 1 is the root cgroup,
   * which no container uses; on hybrid hosts a v1-managed container also reads as id 1, but it
   * never shares the host's mount namespace. */
  private readonly unifiedCgroups: boolean;
  /** The host's mount namespace inode, as the loader decided it (its hello, native/loader.c
   * host_mntns_inode); set by the sensor at start. */
  hostMntns: number | undefined;

  /** Container or HOST from the event's cgroup id (and mount namespace); undefined while the id
   * says nothing yet (then the caller reads /proc). */
  private containerOrHostOfCgroup(id: bigint, mntns: number): ContainerInfo | undefined {
    if (id <= 1n) return this.unifiedCgroups || (this.hostMntns !== undefined && mntns === this.hostMntns) ? HOST : undefined;
    const c = this.containerOfCgroup(id);
    if (c) return c;
    return this.byCgroup.get(id) === null ? HOST : undefined;
  }

  private containerOf(p: Proc, r?: RawEvent): ContainerInfo {
    // a container from the event's cgroup id always wins (exact at syscall time); a known host
    // only when the process has no container yet
    const byId = r ? this.containerOrHostOfCgroup(r.cgroupId, r.mntns) : undefined;
    if (byId && byId !== HOST) return (p.container = byId);
    if (p.container) return p.container;
    if (byId) return (p.container = byId);
    let c = this.containers.forPid(p.pid);
    if (!c) {
      const parent = this.procs.get(p.ppid);
      c = parent?.container ?? HOST;
    }
    p.container = c;
    return c;
  }

  private minimalProc(r: RawEvent): Proc {
    return {
      pid: r.pid,
      ppid: r.ppid,
      name: r.comm,
      exepath: '',
      exe: r.comm,
      args: [],
      argsTruncated: false,
      cwd: '',
      tty: 0,
      sid: 0,
      pgid: 0,
      vpid: r.vpid,
      uid: r.uid,
      gid: r.gid,
      euid: r.euid,
      loginuid: r.loginuid,
      capEff: 0,
      capPrm: 0,
      capInh: 0,
      startNs: r.ts,
      execNs: r.ts,
      execId: makeExecId(r.pid, r.ts),
      mntns: r.mntns,
      fds: new Map(),
    };
  }

  /** Applies the process-table side effects of an event and returns its process. */
  private procFor(r: RawEvent): Proc {
    if (r.kind === K.EXECVE) {
      this.execGen++;
      const prev = this.procs.get(r.pid);
      const argvRaw = r.strs[1] ?? '';
      const argv = argvRaw.split('\0');
      if (argv.length > 1 && argv[argv.length - 1] === '') argv.pop();
      const a = r.args;
      const sidPgid = r.bigArgs[EXEC_A.SID_PGID]!;
      const exeFlags = a[EXEC_A.EXE_FLAGS]!;
      const startNs = r.bigArgs[EXEC_A.START]!;
      const p: Proc = {
        pid: r.pid,
        ppid: r.ppid,
        name: r.comm,
        exepath: r.strs[0] ?? '',
        exe: argv[0] ?? r.comm,
        args: argv.slice(1),
        argsTruncated: ((r.strFlags[1] ?? 0) & S_TRUNCATED) !== 0,
        cwd: r.strs[2] ?? '',
        tty: a[EXEC_A.TTY]!,
        sid: Number(sidPgid >> 32n),
        pgid: Number(sidPgid & 0xffffffffn),
        vpid: r.vpid,
        uid: r.uid,
        gid: r.gid,
        euid: r.euid,
        loginuid: r.loginuid,
        capEff: a[EXEC_A.CAP_EFF]!,
        capPrm: a[EXEC_A.CAP_PRM]!,
        capInh: a[EXEC_A.CAP_INH]!,
        startNs,
        execNs: r.ts,
        execId: makeExecId(r.pid, r.ts),
        exeIno: u64Value(r, EXEC_A.EXE_INO),
        exeCtime: r.bigArgs[EXEC_A.EXE_CTIME]!,
        exeMtime: r.bigArgs[EXEC_A.EXE_MTIME]!,
        exeFromMemfd: (exeFlags & EXE_MEMFD) !== 0,
        exeUpperLayer: (exeFlags & EXE_UPPER) !== 0,
        exeWritable: (exeFlags & EXE_WRITABLE) !== 0,
        mntns: r.mntns,
        fds: prev?.fds ?? new Map(),
      };
      const envRaw = r.strs[4];
      if (envRaw !== undefined) {
        p.env = splitEnv(envRaw);
        if ((r.strFlags[4] ?? 0) & S_TRUNCATED) p.envTruncated = true;
      }
      // the exec may follow a move into a container's cgroup (runc init): resolve again, from the
      // event's cgroup id when it is known (no /proc read per exec), else from /proc
      const c = this.containerOrHostOfCgroup(r.cgroupId, r.mntns) ?? this.containers.forPid(r.pid);
      p.container = c ?? prev?.container ?? this.procs.get(r.ppid)?.container;
      this.procs.set(p);
      return p;
    }
    if (r.kind === K.CLONE) {
      const parent = this.procs.lookup(r.pid) ?? this.minimalProc(r);
      if (!(r.flags & F_THREAD)) {
        const childPid = r.args[A.CLONE.pid]!;
        const start = r.bigArgs[A.CLONE.start]!;
        const child: Proc = {
          ...parent,
          pid: childPid,
          ppid: r.pid,
          vpid: childPid === r.pid ? parent.vpid : 0,
          startNs: start,
          execNs: start,
          execId: makeExecId(childPid, start),
          fds: new Map(parent.fds),
          seeded: false,
        };
        delete child.exitedAt;
        delete child.view; // the parent's cached fields are not the child's
        if (child.vpid === 0) delete (child as Partial<Proc>).vpid;
        this.procs.set(child as Proc);
      }
      return parent;
    }
    let p = this.procs.get(r.pid);
    if (!p) {
      // unknown (its fork was not seen: the sensor started later, or the parent is the sensor
      // itself): read /proc. User space lags the kernel, so /proc may already show a later exec
      // of this pid (a failed exec's caller, seen after it exec'd for real): when the main
      // thread's comm in the event differs, the event's own identity is the truth.
      const read = this.procs.lookup(r.pid);
      if (read && (r.tid !== r.pid || read.name === r.comm)) p = read;
      else {
        if (!read) this.procs.stats.missing++;
        p = this.minimalProc(r);
        this.procs.set(p);
      }
    }
    if (r.kind === K.PROCEXIT) this.procs.markExited(r.pid);
    return p;
  }

  /** Builds the event; undefined for records that are not events (unknown kinds). */
  build(r: RawEvent): VigilEvent | undefined {
    const info = KIND_BY_ID[r.kind];
    if (!info) {
      this.stats.unknownKind++;
      return undefined;
    }
    let p: Proc;
    let dec: ReturnType<typeof info.decode>;
    try {
      p = this.procFor(r);
      dec = info.decode(r);
    } catch {
      this.stats.errors++;
      return undefined;
    }
    const c = this.containerOf(p, r);
    const timeNs = this.epoch(r.ts);
    const evt: VigilEvent['evt'] = {
      num: ++this.num,
      time: timeNs.toString(),
      type: info.typeOf ? info.typeOf(r) : info.name,
      category: info.category,
      dir: '<',
      cpu: r.cpu,
      res: r.res,
      rawres: r.res,
      failed: r.res < 0,
      arg: dec.arg,
      rawarg: dec.rawarg,
    };
    if (r.flags & F_TRUNCATED) evt.truncated = true;
    if (dec.policy) evt.policy_decision = true;

    // side effects of privilege changes on the process
    if (r.res === 0 && (r.kind === K.SETUID || r.kind === K.SETRESUID || r.kind === K.SETGID || r.kind === K.CAPSET)) p.gen = (p.gen ?? 0) + 1;
    if (r.res === 0) {
      if (r.kind === K.SETUID) p.uid = p.euid = r.args[A.SETUID.uid]!;
      else if (r.kind === K.SETRESUID) {
        const ruid = r.args[A.SETRESUID.ruid]!,
          euid = r.args[A.SETRESUID.euid]!;
        if (ruid !== 0xffffffff && ruid !== -1) p.uid = ruid;
        if (euid !== 0xffffffff && euid !== -1) p.euid = euid;
      } else if (r.kind === K.SETGID) p.gid = r.args[A.SETGID.gid]!;
      else if (r.kind === K.CAPSET) {
        p.capEff = r.args[A.CAPSET.cap_effective]!;
        p.capPrm = r.args[A.CAPSET.cap_permitted]!;
        p.capInh = r.args[A.CAPSET.cap_inheritable]!;
      }
    }
    if (r.kind === K.EXECVE) {
      const fl = r.args[EXEC_A.EXE_FLAGS]!;
      // Falco's execve flags: names in its table order, raw value in its bit values
      let names = '';
      let raw = 0;
      if (fl & EXE_WRITABLE) (names += '|EXE_WRITABLE'), (raw |= PPM_EXE_WRITABLE);
      if (fl & EXE_UPPER) (names += '|EXE_UPPER_LAYER'), (raw |= PPM_EXE_UPPER_LAYER);
      if (fl & EXE_MEMFD) (names += '|EXE_FROM_MEMFD'), (raw |= PPM_EXE_FROM_MEMFD);
      if (fl & EXE_LOWER) (names += '|EXE_LOWER_LAYER'), (raw |= PPM_EXE_LOWER_LAYER);
      evt.arg = {
        res: 0,
        exe: p.exepath,
        args: p.args.join(' '),
        cwd: p.cwd,
        tid: r.tid,
        pid: r.pid,
        ptid: r.ppid,
        filename: r.strs[3] ?? '',
        flags: names ? names.slice(1) : '0',
      };
      evt.rawarg = { ...evt.arg, flags: raw };
    } else if (r.kind === K.CLONE) {
      const thread = (r.flags & F_THREAD) !== 0;
      evt.arg = { res: r.res, flags: thread ? 'CLONE_THREAD' : '', pid: r.args[A.CLONE.pid]!, tid: r.args[A.CLONE.tid]! };
      evt.rawarg = { ...evt.arg };
    } else if (r.kind === K.PROCEXIT) {
      evt.arg = { status: r.args[A.PROCEXIT.status]!, sig: r.args[A.PROCEXIT.sig]!, core: r.args[A.PROCEXIT.core]! };
      evt.rawarg = { ...evt.arg };
    }

    const v = this.view(p, r, c);
    const ev: VigilEvent = {
      evt,
      proc: v.proc,
      thread: { tid: r.tid, cap_effective: v.capEff, cap_permitted: v.capPrm, cap_inheritable: v.capInh },
      user: v.user,
      group: v.group,
      container: v.container,
      ns: v.ns,
      cgroup: v.cgroup,
    };
    if (v.k8s) ev.k8s = v.k8s;
    if (dec.policy) ev.policy = dec.policy;

    // fd and path fields: what the kind does to the fd table and which paths it names come from
    // its row of the kind table (KindInfo.fd, fdOnFailure, tuple, fsPath)
    const fd = dec.fd;
    const fdEffect = info.fd;
    const fsPath = info.fsPath;
    if (fdEffect === 'open' && fd) {
      const pp = dec.paths![0]!;
      fd.name = resolvePath(pp.raw, pp.base, p.cwd);
      fd.directory = fd.type === 'directory' ? fd.name : dirOf(fd.name);
      fd.filename = baseOf(fd.name);
      if (r.res >= 0) p.fds.set(r.res, { ...fd });
      ev.fd = fd as FieldTree;
      ev.fd.name_changed = fd.name !== pp.raw;
    } else if (fsPath === 'one' && dec.paths) {
      const pp = dec.paths[0]!;
      const abs = resolvePath(pp.raw, pp.base, p.cwd);
      ev.fs = { path: { name: abs, nameraw: pp.raw } };
    } else if (fsPath !== undefined && fsPath !== 'one' && dec.paths) {
      const [src, dst] = dec.paths;
      const isSymlink = fsPath === 'symlink';
      ev.fs = {
        path: {
          source: isSymlink ? src!.raw : resolvePath(src!.raw, src!.base, p.cwd),
          sourceraw: src!.raw,
          target: resolvePath(dst!.raw, dst!.base, p.cwd),
          targetraw: dst!.raw,
        },
      };
    } else if (fdEffect === 'close') {
      const num = r.args[A.CLOSE.fd]!;
      const known = p.fds.get(num);
      if (known) ev.fd = { ...known, num } as FieldTree;
      else ev.fd = { num };
      if (r.res === 0) p.fds.delete(num);
    } else if (fdEffect === 'dup' && fd) {
      const old = p.fds.get(r.args[A.DUP3.oldfd]!);
      const merged: FdInfo = old && old.type === fd.type ? { ...old, num: fd.num } : fd;
      if (merged.name) {
        merged.directory ??= merged.type === 'file' || merged.type === 'directory' ? dirOf(merged.name) : undefined;
        merged.filename ??= merged.type === 'file' ? baseOf(merged.name) : undefined;
        if (merged.directory === undefined) delete merged.directory;
        if (merged.filename === undefined) delete merged.filename;
      }
      if (r.res >= 0) p.fds.set(r.res, { ...merged });
      ev.fd = merged as FieldTree;
    } else if (fd) {
      if (fdEffect === 'socket') {
        if (fd.num !== undefined && fd.num >= 0 && (r.res >= 0 || info.fdOnFailure === true)) {
          const prev = p.fds.get(fd.num);
          p.fds.set(fd.num, { ...prev, ...fd });
        }
      } else if (fd.name && (fd.type === 'file' || fd.type === 'directory')) {
        fd.directory = fd.type === 'directory' ? fd.name : dirOf(fd.name);
        fd.filename = baseOf(fd.name);
      }
      if (c.k8sApiHost && fd.sip === c.k8sApiHost && info.tuple === 'client') {
        // Falco resolves the server IP's name; inside a pod the API server's service IP is known
        // from the container's environment (KUBERNETES_SERVICE_HOST)
        (fd as FieldTree)['sip.name'] = `kubernetes.default.svc.${c.clusterDomain ?? 'cluster.local'}`;
      }
      ev.fd = fd as FieldTree;
    }
    return ev;
  }

  /** bumped on every exec: an exec can change any process's ancestry fields */
  private execGen = 0;
  private containerViews = new WeakMap<ContainerInfo, { checkedAt: number | undefined; fields: VigilEvent['container']; k8s: FieldTree | undefined }>();

  /**
   * The field objects of a process, built once and shared by all its events until the process,
   * an ancestor (any exec) or its container metadata changes. Events are therefore read-only:
   * a consumer that needs to change one (redaction) copies what it changes.
   */
  private view(p: Proc, r: RawEvent, c: ContainerInfo): ProcView {
    const cur = p.view as ProcView | undefined;
    const cv = this.containerView(c);
    if (
      cur &&
      cur.gen === (p.gen ?? 0) &&
      cur.execGen === this.execGen &&
      cur.container === cv.fields &&
      cur.uid === r.uid &&
      cur.euid === r.euid &&
      cur.gid === r.gid &&
      cur.loginuid === r.loginuid &&
      cur.mntns === r.mntns &&
      cur.netns === r.netns &&
      cur.cgroupId === r.cgroupId
    )
      return cur;
    const nv: ProcView = {
      gen: p.gen ?? 0,
      execGen: this.execGen,
      uid: r.uid,
      euid: r.euid,
      gid: r.gid,
      loginuid: r.loginuid,
      mntns: r.mntns,
      netns: r.netns,
      cgroupId: r.cgroupId,
      proc: this.procFields(p),
      capEff: renderCaps(p.capEff),
      capPrm: renderCaps(p.capPrm),
      capInh: renderCaps(p.capInh),
      user: this.userFields(p, r, c),
      group: this.groupFields(r, c, p),
      container: cv.fields,
      k8s: cv.k8s,
      ns: { pid: r.pidns, mnt: r.mntns, net: r.netns },
      cgroup: { id: r.cgroupId.toString() },
    };
    p.view = nv;
    return nv;
  }

  private containerView(c: ContainerInfo) {
    const hit = this.containerViews.get(c);
    if (hit && hit.checkedAt === c.checkedAt) return hit;
    let k8s: FieldTree | undefined;
    if (c.podName || c.podNamespace) {
      k8s = {};
      if (c.podNamespace) k8s.ns = { name: c.podNamespace };
      const pod: FieldTree = {};
      if (c.podName) pod.name = c.podName;
      if (c.podUid) pod.uid = c.podUid;
      k8s.pod = pod;
    }
    const v = { checkedAt: c.checkedAt, fields: this.containerFields(c), k8s };
    this.containerViews.set(c, v);
    return v;
  }

  /**
   * Builds an event that did not come from a syscall record (capability aggregation, fanotify
   * decisions) for process `pid`, with the same process, user, container and pod fields as the
   * process's other events. The caller numbers it (Sensor.injectEvent).
   */
  buildSynthetic(o: {
    pid: number;
    tid?: number;
    tsBoot?: bigint;
    timeNs?: bigint;
    type: string;
    category: VigilEvent['evt']['category'];
    res?: number;
    arg?: FieldTree;
  }): VigilEvent {
    const p =
      this.procs.lookup(o.pid) ??
      this.minimalProc({ pid: o.pid, ppid: 0, comm: '', vpid: o.pid, uid: 0, gid: 0, euid: 0, loginuid: 0xffffffff, ts: 0n, mntns: 0 } as RawEvent);
    const c = this.containerOf(p);
    const fake = { uid: p.uid, gid: p.gid, loginuid: p.loginuid, mntns: p.mntns, netns: 0, pidns: 0, cgroupId: 0n, tid: o.tid ?? o.pid, kind: 0 } as RawEvent;
    const v = this.view(p, fake, c);
    const timeNs = o.timeNs ?? (o.tsBoot !== undefined ? this.epoch(o.tsBoot) : BigInt(Date.now()) * 1_000_000n);
    const res = o.res ?? 0;
    const ev: VigilEvent = {
      evt: {
        num: 0,
        time: timeNs.toString(),
        type: o.type,
        category: o.category,
        dir: '<',
        cpu: 0,
        res,
        rawres: res,
        failed: res < 0,
        arg: o.arg ?? {},
        rawarg: { ...(o.arg ?? {}) },
      },
      proc: v.proc,
      thread: { tid: o.tid ?? o.pid, cap_effective: v.capEff, cap_permitted: v.capPrm, cap_inheritable: v.capInh },
      user: v.user,
      group: v.group,
      container: v.container,
    };
    if (v.k8s) ev.k8s = v.k8s;
    return ev;
  }

  private procFields(p: Proc): FieldTree {
    const anc = this.procs.ancestors(p, 16);
    const parent = anc[0];
    const args = p.args.join(' ');
    const startEpoch = this.epoch(p.startNs);
    const f: FieldTree = {
      pid: p.pid,
      ppid: p.ppid,
      name: p.name,
      exepath: p.exepath,
      exe: p.exe,
      args,
      cmdline: args ? `${p.name} ${args}` : p.name,
      cwd: p.cwd ? (p.cwd.endsWith('/') ? p.cwd : p.cwd + '/') : '',
      tty: p.tty,
      sid: p.sid,
      pgid: p.pgid,
      exec_id: p.execId,
      start_ts: startEpoch.toString(),
      aname: anc.map((a) => a.name),
      aexepath: anc.map((a) => a.exepath),
      aexe: anc.map((a) => a.exe),
      apid: anc.map((a) => a.pid),
    };
    if (!p.cwd) delete f.cwd;
    if (!p.exepath) delete f.exepath;
    if (p.vpid !== undefined) f.vpid = p.vpid;
    if (p.argsTruncated) f.args_truncated = true;
    if (parent) {
      f.pname = parent.name;
      f.pexepath = parent.exepath;
      f.pexe = parent.exe;
      const pargs = parent.args.join(' ');
      f.pcmdline = pargs ? `${parent.name} ${pargs}` : parent.name;
    }
    const sl = p.sid > 0 ? this.procs.get(p.sid) : undefined;
    if (sl) f.sname = sl.name;
    if (p.pgid > 0) {
      const gl = this.procs.get(p.pgid);
      f.vpgid = gl?.vpid ?? p.pgid;
      if (gl) {
        f['vpgid.name'] = gl.name;
        f['vpgid.exe'] = gl.exe;
        f['vpgid.exepath'] = gl.exepath;
      }
      f.is_vpgid_leader = p.pgid === p.pid;
    }
    f.is_exe_from_memfd = p.exeFromMemfd ?? false;
    f.is_exe_upper_layer = p.exeUpperLayer ?? false;
    f.is_exe_writable = p.exeWritable ?? false;
    if (p.env) {
      f.env = p.env;
      if (p.envTruncated) f.env_truncated = true;
    }
    if (p.exeIno !== undefined) {
      f.exe_ino = p.exeIno;
      if (p.exeCtime !== undefined) {
        f['exe_ino.ctime'] = p.exeCtime.toString();
        f['exe_ino.ctime_duration_proc_start'] = Number(startEpoch - p.exeCtime);
      }
      if (p.exeMtime !== undefined) f['exe_ino.mtime'] = p.exeMtime.toString();
    }
    return f;
  }

  private rootFor(c: ContainerInfo, pid: number): string {
    if (c.id === 'host') return '';
    return c.rootfs ?? `/proc/${pid}/root`;
  }

  private userFields(p: Proc, r: RawEvent, c: ContainerInfo): FieldTree {
    const root = this.rootFor(c, p.pid);
    const uid = r.kind === K.EXECVE ? r.uid : p.uid;
    const f: FieldTree = { uid, loginuid: r.loginuid === 0xffffffff ? -1 : r.loginuid };
    if (r.euid !== undefined && r.euid !== uid) f.euid = r.euid;
    const name = this.users.userName(uid, root);
    if (name !== undefined) f.name = name;
    const home = this.users.userHome(uid, root);
    if (home !== undefined) f.homedir = home;
    const shell = this.users.userShell(uid, root);
    if (shell !== undefined) f.shell = shell;
    if (r.loginuid !== 0xffffffff) {
      const ln = this.users.userName(r.loginuid, root);
      if (ln !== undefined) f.loginname = ln;
    }
    return f;
  }

  private groupFields(r: RawEvent, c: ContainerInfo, p: Proc): FieldTree {
    const f: FieldTree = { gid: r.gid };
    const name = this.users.groupName(r.gid, this.rootFor(c, p.pid));
    if (name !== undefined) f.name = name;
    return f;
  }

  private containerFields(c: ContainerInfo): VigilEvent['container'] {
    const f: VigilEvent['container'] = { id: c.id };
    if (c.id === 'host') {
      f.name = 'host';
      return f;
    }
    if (c.fullId) f.full_id = c.fullId;
    if (c.name) f.name = c.name;
    if (c.type) f.type = c.type;
    if (c.image) f.image = c.image;
    if (c.imageRepository) f['image.repository'] = c.imageRepository;
    if (c.imageTag) f['image.tag'] = c.imageTag;
    if (c.privileged !== undefined) f.privileged = c.privileged;
    if (c.startTs) f.start_ts = c.startTs;
    return f;
  }
}
