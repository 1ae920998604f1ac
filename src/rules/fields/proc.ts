// Rules engine, field class `proc`: process fields (name, args, ancestry, exe properties, times).
// Ancestors: the event carries proc.aname/aexepath/apid nearest first starting at the parent, so
// Falco's proc.aname[N] (N >= 1) is event.proc.aname[N-1] and proc.aname[0] is proc.name; without
// an index the field matches any ancestor (Falco semantics).
import type { Ev, Extractor, FieldDef, ListExtractor, Value } from '../types.ts';
import { field } from './define.ts';
import { arrayAll, arrayElem, firstOf, getter, nsDiff, nsString, rawGetter } from './util.ts';

const name = getter('proc.name');
const args = getter('proc.args');
const exe = getter('proc.exe');
const pid = getter('proc.pid');
const startTs = firstOf(getter('proc.start_ts'), getter('proc.pid.ts'));
const evTime = getter('evt.time');

function cmdline(n: Extractor, a: Extractor): Extractor {
  return (ev) => {
    const nv = n(ev);
    if (nv === undefined) return undefined;
    const av = a(ev);
    return av === undefined || av === '' ? String(nv) : `${nv} ${av}`;
  };
}

/** proc.env: the captured list joined with spaces (Falco's form), or the value of proc.env[NAME]. */
function envField(arg: string | undefined): Extractor {
  const env = rawGetter('proc.env');
  if (arg === undefined) {
    return (ev) => {
      const l = env(ev);
      return Array.isArray(l) ? l.join(' ') : typeof l === 'string' ? l : undefined;
    };
  }
  const prefix = `${arg}=`;
  return (ev) => {
    const l = env(ev);
    if (!Array.isArray(l)) return undefined;
    for (const v of l) if (typeof v === 'string' && v.startsWith(prefix)) return v.slice(prefix.length);
    return undefined;
  };
}

function parseIndex(arg: string | undefined): number {
  return Number(arg);
}

/** An ancestor field: [0] is the process itself, [N] the N-th ancestor, no index = any ancestor. */
function ancestor(
  fname: string,
  self: Extractor,
  arrPath: string,
  parentFallback: Extractor | undefined,
  type: 'string' | 'int' | 'path',
  desc: string,
): FieldDef {
  const all = arrayAll(arrPath);
  const scratch: Value[] = [];
  const list = (): ListExtractor => (ev) => {
    const a = all(ev);
    if (a !== undefined && a.length > 0) return a;
    if (parentFallback) {
      const p = parentFallback(ev);
      if (p !== undefined) {
        scratch.length = 0;
        scratch.push(p);
        return scratch;
      }
    }
    return a;
  };
  return field(
    fname,
    type,
    desc,
    (arg) => {
      if (arg === undefined) {
        const l = list();
        return (ev) => {
          const a = l(ev);
          return a !== undefined && a.length > 0 ? a[0] : undefined;
        };
      }
      const n = parseIndex(arg);
      if (n === 0) return self;
      const el = arrayElem(arrPath, n - 1);
      if (n === 1 && parentFallback) return firstOf(el, parentFallback);
      return el;
    },
    { arg: 'optindex', list },
  );
}

const pname = getter('proc.pname');
const vpid = getter('proc.vpid');
const vpgid = getter('proc.vpgid');
const sid = getter('proc.sid');
const pexepath = getter('proc.pexepath');
const ppid = getter('proc.ppid');
const pexe = getter('proc.pexe');

export const procFields: FieldDef[] = [
  field('proc.pid', 'int', 'process id (thread group id)', () => pid),
  field('proc.vpid', 'int', 'process id as seen from its pid namespace', () => getter('proc.vpid')),
  field('proc.ppid', 'int', 'parent process id', () => firstOf(ppid, arrayElem('proc.apid', 0))),
  field('proc.pvpid', 'int', 'parent process id as seen from its pid namespace', () => getter('proc.pvpid')),
  field('proc.name', 'string', 'process name (comm, up to 15 chars)', () => name),
  field('proc.exe', 'string', 'first command-line argument (argv[0])', () => exe),
  field('proc.exepath', 'path', 'full path of the executable', () => getter('proc.exepath')),
  field('proc.args', 'string', 'command-line arguments after argv[0], space-separated', () => args),
  field('proc.cmdline', 'string', 'proc.name followed by proc.args', () => firstOf(getter('proc.cmdline'), cmdline(name, args))),
  field('proc.exeline', 'string', 'proc.exe followed by proc.args', () => firstOf(getter('proc.exeline'), cmdline(exe, args))),
  field(
    'proc.env',
    'string',
    "the process's environment as 'NAME=value NAME1=value1', or one variable's value (proc.env[NAME]); captured when a loaded rule reads it or with --capture-env",
    envField,
    { arg: 'optkey' },
  ),
  field('proc.cwd', 'path', 'current working directory, with trailing /', () => getter('proc.cwd')),
  field('proc.tty', 'int', 'controlling terminal device number, 0 if none', () => getter('proc.tty')),
  field('proc.sid', 'int', 'session id', () => getter('proc.sid')),
  field('proc.sname', 'string', 'name of the session leader', () => getter('proc.sname')),
  field('proc.vpgid', 'int', 'process group id as seen from its pid namespace', () => getter('proc.vpgid')),
  field('proc.pgid', 'int', 'process group id', () => getter('proc.pgid')),
  field('proc.vpgid.name', 'string', 'name of the process group leader', () => getter('proc.vpgid.name')),
  field('proc.vpgid.exe', 'string', 'argv[0] of the process group leader', () => getter('proc.vpgid.exe')),
  field('proc.vpgid.exepath', 'path', 'exe path of the process group leader', () => getter('proc.vpgid.exepath')),
  field('proc.is_vpgid_leader', 'bool', 'true if the process is its process group leader', () =>
    firstOf(getter('proc.is_vpgid_leader'), (ev: Ev) => {
      const a = vpid(ev);
      const b = vpgid(ev);
      return a === undefined || b === undefined ? undefined : Number(a) === Number(b);
    }),
  ),
  field('proc.is_sid_leader', 'bool', 'true if the process is its session leader', () =>
    firstOf(getter('proc.is_sid_leader'), (ev: Ev) => {
      const a = vpid(ev);
      const b = sid(ev);
      return a === undefined || b === undefined ? undefined : Number(a) === Number(b);
    }),
  ),
  field('proc.pname', 'string', 'parent process name', () => firstOf(pname, arrayElem('proc.aname', 0))),
  field('proc.pcmdline', 'string', 'parent command line', () => getter('proc.pcmdline')),
  field('proc.pexe', 'string', 'parent argv[0]', () => firstOf(pexe, arrayElem('proc.aexe', 0))),
  field('proc.pexepath', 'path', 'parent exe path', () => firstOf(pexepath, arrayElem('proc.aexepath', 0))),
  ancestor('proc.aname', name, 'proc.aname', pname, 'string', 'ancestor name: [0] the process, [1] parent, [2] grandparent...; without index any ancestor'),
  ancestor('proc.apid', pid, 'proc.apid', ppid, 'int', 'ancestor pid: [0] the process, [1] parent...; without index any ancestor'),
  ancestor(
    'proc.aexepath',
    getter('proc.exepath'),
    'proc.aexepath',
    pexepath,
    'path',
    'ancestor exe path: [0] the process, [1] parent...; without index any ancestor',
  ),
  ancestor('proc.aexe', exe, 'proc.aexe', pexe, 'string', 'ancestor argv[0]: [0] the process, [1] parent...; without index any ancestor'),
  field('proc.pid.ts', 'abstime', 'process start time (ns since epoch)', () => startTs),
  field('proc.duration', 'reltime', 'ns since the process started', () => (ev) => {
    const s = nsString(startTs(ev));
    const t = nsString(evTime(ev));
    return s === undefined || t === undefined ? undefined : nsDiff(t, s);
  }),
  field('proc.ppid.ts', 'abstime', 'parent start time (ns since epoch), when captured', () => getter('proc.ppid.ts')),
  field('proc.ppid.duration', 'reltime', 'ns since the parent started, when captured', () => {
    const pts = getter('proc.ppid.ts');
    return (ev) => {
      const s = nsString(pts(ev));
      const t = nsString(evTime(ev));
      return s === undefined || t === undefined ? undefined : nsDiff(t, s);
    };
  }),
  field('proc.exe_ino', 'int', 'inode number of the executable', () => getter('proc.exe_ino')),
  field('proc.exe_ino.ctime', 'abstime', 'last status change time of the executable inode (ns)', () => getter('proc.exe_ino.ctime')),
  field('proc.exe_ino.mtime', 'abstime', 'last modification time of the executable inode (ns)', () => getter('proc.exe_ino.mtime')),
  field('proc.exe_ino.ctime_duration_proc_start', 'reltime', 'ns between the executable inode status change and the process start', () => {
    const ctime = getter('proc.exe_ino.ctime');
    return (ev) => {
      const c = nsString(ctime(ev));
      const s = nsString(startTs(ev));
      return c === undefined || s === undefined ? undefined : nsDiff(s, c);
    };
  }),
  field('proc.is_exe_writable', 'bool', 'true if the executable is writable by the process user', () => getter('proc.is_exe_writable')),
  field('proc.is_exe_upper_layer', 'bool', 'true if the executable lives in the upper layer of an overlayfs', () => getter('proc.is_exe_upper_layer')),
  field('proc.is_exe_from_memfd', 'bool', 'true if the executable is a memfd (fileless execution)', () => getter('proc.is_exe_from_memfd')),
  field('proc.exec_id', 'string', 'node-unique id of this exec (Vigil)', () => getter('proc.exec_id')),
];
