// Rules engine, field class `fd`: the file descriptor an event is about (files and sockets).
// Derived here: fd.typechar from fd.type, fd.directory / fd.filename from fd.name, fd.name and
// fd.num of failed opens (from the path argument and the result, as Falco does), local/remote
// endpoints from fd.is_server, and the CIDR fields fd.net / fd.cnet / fd.snet / fd.lnet / fd.rnet.
import type { Ev, Extractor, FieldDef, ListExtractor, Value } from '../types.ts';
import { field } from './define.ts';
import { absPath, basename, dirname, firstOf, getter, OPEN_TYPES } from './util.ts';

const evType = getter('evt.type');
const rawRes = firstOf(getter('evt.rawres'), getter('evt.res'));
const FD_CREATORS = new Set([
  ...OPEN_TYPES,
  'socket',
  'accept',
  'accept4',
  'memfd_create',
  'dup',
  'dup2',
  'dup3',
  'pipe',
  'pipe2',
  'eventfd',
  'eventfd2',
  'signalfd',
  'signalfd4',
  'timerfd_create',
  'inotify_init',
  'inotify_init1',
  'userfaultfd',
  'bpf',
  'io_uring_setup',
  'pidfd_open',
]);

const isOpen = (ev: Ev): boolean => {
  const t = evType(ev);
  return typeof t === 'string' && OPEN_TYPES.has(t);
};

const TYPECHAR: Record<string, string> = {
  file: 'f',
  directory: 'd',
  ipv4: '4',
  ipv6: '6',
  unix: 'u',
  pipe: 'p',
  event: 'e',
  signalfd: 's',
  eventpoll: 'l',
  inotify: 'i',
  timerfd: 't',
  netlink: 'n',
  bpf: 'b',
  userfaultfd: 'u',
  io_uring: 'r',
  memfd: 'm',
  pidfd: 'P',
};

const fdNum = getter('fd.num');
const fdTypeRaw = getter('fd.type');
const fdName = getter('fd.name');
const argName = firstOf(getter('evt.arg.name'), getter('evt.arg.path'));
const cwd = getter('proc.cwd');

const fdType: Extractor = firstOf(fdTypeRaw, (ev) => (isOpen(ev) ? 'file' : undefined));

const name: Extractor = firstOf(fdName, (ev) => {
  if (!isOpen(ev)) return undefined;
  const a = argName(ev);
  if (typeof a !== 'string') return undefined;
  const c = cwd(ev);
  return absPath(a, typeof c === 'string' ? c : undefined);
});

const typechar: Extractor = firstOf(getter('fd.typechar'), (ev) => {
  const t = fdType(ev);
  return typeof t === 'string' ? TYPECHAR[t] : undefined;
});

const isPathFd = (ev: Ev): boolean => {
  const c = typechar(ev);
  if (c === 'f' || c === 'd' || c === 'm') return true;
  if (c !== undefined) return false;
  const n = name(ev);
  return typeof n === 'string' && n.startsWith('/');
};

const cip = getter('fd.cip');
const sip = getter('fd.sip');
const cport = getter('fd.cport');
const sport = getter('fd.sport');
const isServer = getter('fd.is_server');

/** Local / remote side: the server side is local for a server fd, the client side otherwise. */
function side(explicit: Extractor, whenServer: Extractor, whenClient: Extractor): Extractor {
  return (ev) => {
    const v = explicit(ev);
    if (v !== undefined) return v;
    const s = isServer(ev);
    if (s === undefined) return undefined;
    return s === true || s === 'true' ? whenServer(ev) : whenClient(ev);
  };
}

const lip = side(getter('fd.lip'), sip, cip);
const rip = side(getter('fd.rip'), cip, sip);
const lport = side(getter('fd.lport'), sport, cport);
const rport = side(getter('fd.rport'), cport, sport);

/** Both endpoints, for fd.ip / fd.port / fd.net (any-endpoint semantics in filters). */
function both(a: Extractor, b: Extractor): () => ListExtractor {
  return () => {
    const scratch: Value[] = [];
    return (ev) => {
      scratch.length = 0;
      const x = a(ev);
      if (x !== undefined) scratch.push(x);
      const y = b(ev);
      if (y !== undefined) scratch.push(y);
      return scratch.length ? scratch : undefined;
    };
  };
}

export const fdFields: FieldDef[] = [
  field('fd.num', 'int', 'file descriptor number (-1 for a failed open)', () =>
    firstOf(fdNum, (ev) => {
      const t = evType(ev);
      if (typeof t !== 'string' || !FD_CREATORS.has(t)) return undefined;
      const r = rawRes(ev);
      return typeof r === 'number' ? (r < 0 ? -1 : r) : undefined;
    }),
  ),
  field('fd.type', 'string', 'fd type: file, directory, ipv4, ipv6, unix, pipe, memfd...', () => fdType),
  field('fd.typechar', 'string', 'fd type as one character: f, d, 4, 6, u, p...', () => typechar),
  field('fd.name', 'string', 'full path for files; cip:cport->sip:sport for sockets', () => name),
  field('fd.nameraw', 'string', 'the path exactly as passed to the syscall', () =>
    firstOf(getter('fd.nameraw'), (ev) => (isOpen(ev) ? argName(ev) : undefined)),
  ),
  field('fd.directory', 'path', 'directory containing the file', () =>
    firstOf(getter('fd.directory'), (ev) => {
      if (!isPathFd(ev)) return undefined;
      const n = name(ev);
      return typeof n === 'string' ? dirname(n) : undefined;
    }),
  ),
  field('fd.filename', 'string', 'file name without the directory', () =>
    firstOf(getter('fd.filename'), (ev) => {
      if (!isPathFd(ev)) return undefined;
      const n = name(ev);
      return typeof n === 'string' ? basename(n) : undefined;
    }),
  ),
  field('fd.containername', 'string', 'container id + fd name', () => {
    const cid = getter('container.id');
    return (ev) => {
      const n = name(ev);
      return n === undefined ? undefined : `${cid(ev) ?? ''}:${n}`;
    };
  }),
  field('fd.containerdirectory', 'string', 'container id + fd directory', () => {
    const cid = getter('container.id');
    return (ev) => {
      if (!isPathFd(ev)) return undefined;
      const n = name(ev);
      return typeof n === 'string' ? `${cid(ev) ?? ''}:${dirname(n)}` : undefined;
    };
  }),
  field('fd.dev', 'int', 'device number of the file', () => getter('fd.dev')),
  field('fd.ino', 'int', 'inode number of the file', () => getter('fd.ino')),
  field('fd.cip', 'ipaddr', 'client IP address', () => cip),
  field('fd.sip', 'ipaddr', 'server IP address', () => sip),
  field('fd.lip', 'ipaddr', 'local IP address', () => lip),
  field('fd.rip', 'ipaddr', 'remote IP address', () => rip),
  field('fd.ip', 'ipaddr', 'client or server IP address (matches either)', () => firstOf(cip, sip), { list: both(cip, sip) }),
  field('fd.cport', 'port', 'client port', () => cport),
  field('fd.sport', 'port', 'server port', () => sport),
  field('fd.lport', 'port', 'local port', () => lport),
  field('fd.rport', 'port', 'remote port', () => rport),
  field('fd.port', 'port', 'client or server port (matches either)', () => firstOf(cport, sport), { list: both(cport, sport) }),
  field('fd.cnet', 'ipnet', 'client IP, for comparison with a network (CIDR)', () => cip),
  field('fd.snet', 'ipnet', 'server IP, for comparison with a network (CIDR)', () => sip),
  field('fd.lnet', 'ipnet', 'local IP, for comparison with a network (CIDR)', () => lip),
  field('fd.rnet', 'ipnet', 'remote IP, for comparison with a network (CIDR)', () => rip),
  field('fd.net', 'ipnet', 'client or server IP, for comparison with a network (matches either)', () => firstOf(cip, sip), { list: both(cip, sip) }),
  field('fd.cip.name', 'string', 'domain name of the client IP, when resolved', () => getter('fd.cip.name')),
  field('fd.sip.name', 'string', 'domain name of the server IP, when resolved', () => getter('fd.sip.name')),
  field('fd.lip.name', 'string', 'domain name of the local IP, when resolved', () => getter('fd.lip.name')),
  field('fd.rip.name', 'string', 'domain name of the remote IP, when resolved', () => getter('fd.rip.name')),
  field('fd.l4proto', 'string', 'transport protocol: tcp, udp, icmp, raw', () => getter('fd.l4proto')),
  field('fd.sockfamily', 'string', 'socket family: ip or unix', () => getter('fd.sockfamily')),
  field('fd.is_server', 'bool', 'true if the process owns the server side of the socket', () => isServer),
  field('fd.connected', 'bool', 'true if the socket is connected (connect succeeded; false for sendto/sendmsg with an explicit address)', () =>
    firstOf(getter('fd.connected'), (ev) => {
      const t = evType(ev);
      if (t === 'connect') {
        const r = rawRes(ev);
        return typeof r === 'number' ? r >= 0 : undefined;
      }
      return undefined;
    }),
  ),
  field('fd.name_changed', 'bool', 'true when the event changed the fd name (e.g. connect, sendto to a new address)', () => getter('fd.name_changed')),
  field('fd.uid', 'string', 'unique id of the fd (pid + fd number)', () => {
    const pid = getter('proc.pid');
    return (ev) => {
      const n = fdNum(ev);
      const p = pid(ev);
      return n === undefined || p === undefined ? undefined : `${p}${n}`;
    };
  }),
];
