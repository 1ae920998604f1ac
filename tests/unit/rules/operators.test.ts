// Tests of the condition language: every operator, transformer and value form, with the edge
// cases Falco documents (missing fields, empty strings, numeric strings, globs with brackets,
// escaped quotes, lists by name), evaluated through the real loader and compiler.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { check, event, loadError } from '../../helpers/rules.ts';

const ev = event({
  evt: { type: 'openat', arg: { name: '/etc/shadow', flags: 'O_RDONLY|O_CLOEXEC' }, rawarg: { flags: 524288, mode: 420 }, res: 3, rawres: 3 },
  fd: { num: 3, type: 'file', typechar: 'f', name: '/etc/Shadow.d/x[1].conf' },
  proc: { name: 'cat', args: '-n /etc/shadow', cmdline: 'cat -n /etc/shadow', env: 'HOME=/root PATH=/bin' },
});

test('= == != on strings, exact and case-sensitive', () => {
  assert.equal(check('proc.name = cat', ev), true);
  assert.equal(check('proc.name == cat', ev), true);
  assert.equal(check('proc.name = CAT', ev), false);
  assert.equal(check('proc.name != cat', ev), false);
  assert.equal(check('proc.name != bash', ev), true);
  assert.equal(check("proc.name = 'cat'", ev), true);
});

test('empty strings: = "" matches an empty value only', () => {
  const e = event({ proc: { args: '' } });
  assert.equal(check('proc.args = ""', e), true);
  assert.equal(check('proc.args = ""', ev), false);
  assert.equal(check('proc.args != ""', ev), true);
  assert.equal(check('proc.args contains ""', e), true);
});

test('missing fields: every comparison is false, including !=; exists is false; not flips', () => {
  const e = event({ proc: { env: undefined } });
  assert.equal(check('proc.env = x', e), false);
  assert.equal(check('proc.env != x', e), false);
  assert.equal(check('proc.env contains x', e), false);
  assert.equal(check('proc.env in (x, y)', e), false);
  assert.equal(check('proc.env exists', e), false);
  assert.equal(check('not proc.env exists', e), true);
  assert.equal(check('not proc.env = x', e), true);
  assert.equal(check('proc.env exists', ev), true);
});

test('contains, icontains (ASCII case folding), startswith, endswith', () => {
  assert.equal(check('proc.cmdline contains "/etc/sha"', ev), true);
  assert.equal(check('proc.cmdline contains /ETC', ev), false);
  assert.equal(check('proc.cmdline icontains /ETC/SHADOW', ev), true);
  assert.equal(check('proc.env icontains "path=/BIN"', ev), true);
  assert.equal(check('proc.cmdline startswith "cat -n"', ev), true);
  assert.equal(check('proc.cmdline startswith cat-', ev), false);
  assert.equal(check('proc.cmdline endswith shadow', ev), true);
  assert.equal(check('proc.cmdline endswith shado', ev), false);
});

test('bcontains / bstartswith take hex bytes; odd or non-hex strings are load errors', () => {
  assert.equal(check('proc.cmdline bcontains 2f657463', ev), true); // "/etc"
  assert.equal(check('proc.cmdline bstartswith 636174', ev), true); // "cat"
  assert.equal(check('proc.cmdline bstartswith 2f', ev), false);
  assert.match(loadError('proc.cmdline bcontains 2f6')?.message ?? '', /not a valid hex byte string/);
  assert.match(loadError('proc.cmdline bcontains zz')?.message ?? '', /not a valid hex byte string/);
});

test('glob: * matches across /, ? one char, [..] classes, [!..] negation, unclosed [ is literal', () => {
  assert.equal(check("fd.name glob '/etc/*'", ev), true);
  assert.equal(check("fd.name glob '/etc/*/x*.conf'", ev), true);
  assert.equal(check("fd.name glob '/etc/?hadow.d/*'", ev), true);
  assert.equal(check("fd.name glob '/etc/[A-Z]hadow.d/*'", ev), true);
  assert.equal(check("fd.name glob '/etc/[!A-Z]hadow.d/*'", ev), false);
  assert.equal(check("fd.name glob '/etc/[[:upper:]]hadow.d/*'", ev), true);
  assert.equal(check("fd.name glob '*x\\[1\\].conf'", ev), true); // escaped brackets: literal
  assert.equal(check("fd.name glob '*x[1].conf'", ev), false); // [1] is a class matching '1'
  assert.equal(check("fd.name glob '*[1'", event({ fd: { name: 'a[1' } })), true); // unclosed: literal
  assert.equal(check("fd.name glob '/ETC/*'", ev), false);
  assert.equal(check("fd.name iglob '/ETC/*'", ev), true);
});

test('regex: RE2 full match, anchored; RE2-incompatible syntax is a load error', () => {
  assert.equal(check("proc.name regex 'c.t'", ev), true);
  assert.equal(check("proc.name regex 'c'", ev), false); // whole value
  assert.equal(check("proc.cmdline regex '.*shadow'", ev), true);
  assert.equal(check("proc.name regex '(?i)CAT'", ev), true);
  assert.equal(check("proc.name regex '[[:alpha:]]+'", ev), true);
  assert.equal(check("proc.name regex '(?P<n>c)at'", ev), true);
  assert.match(loadError("proc.name regex '(a)\\1'")?.message ?? '', /backreferences/);
  assert.match(loadError("proc.name regex 'c(?=a)'")?.message ?? '', /lookaround/);
  assert.match(loadError("proc.name regex 'c(at'")?.message ?? '', /invalid regular expression/);
});

test('in / intersects on scalars; lists inline and by name, nested list names expand', () => {
  const lists = `
- list: l_inner
  items: [cat, dog]
- list: l_outer
  items: [l_inner, "tac"]
- list: l_empty
  items: []
`;
  assert.equal(check('proc.name in (cat, bash)', ev), true);
  assert.equal(check('proc.name in (bash)', ev), false);
  assert.equal(check('proc.name in ()', ev), false);
  assert.equal(check('proc.name in (l_inner)', ev, lists), true);
  assert.equal(check('proc.name in (l_outer)', ev, lists), true);
  assert.equal(check('proc.name in (l_empty, cat)', ev, lists), true);
  assert.equal(check('proc.name in (l_empty)', ev, lists), false);
  assert.equal(check('proc.name in ("l_inner")', ev, lists), false); // quoted: a literal, not a list
  assert.equal(check('proc.name intersects (x, cat)', ev), true);
  assert.equal(check('proc.args intersects ("-V", "-l")', event({ proc: { args: '-l' } })), true);
});

test('pmatch is a path-prefix match on whole path components', () => {
  const e = (name: string) => event({ fd: { name } });
  assert.equal(check('fd.name pmatch (/etc, /var/run)', e('/etc/passwd')), true);
  assert.equal(check('fd.name pmatch (/etc)', e('/etc')), true);
  assert.equal(check('fd.name pmatch (/etc/)', e('/etc/x')), true);
  assert.equal(check('fd.name pmatch (/etc)', e('/etcd/x')), false);
  assert.equal(check('fd.name pmatch (/var/run)', e('/var/running')), false);
});

test('numbers: numeric fields compare numerically; numeric strings, hex and negatives parse', () => {
  assert.equal(check('fd.num = 3', ev), true);
  assert.equal(check('fd.num = 03', ev), true);
  assert.equal(check('fd.num = 0x3', ev), true);
  assert.equal(check('fd.num >= 0', ev), true);
  assert.equal(check('fd.num < 3', ev), false);
  assert.equal(check('fd.num > -1', ev), true);
  assert.equal(check('fd.num in (1, 2, 3)', ev), true);
  assert.equal(check('proc.tty != 0', ev), true);
  assert.equal(check('user.loginuid = -1', event({ user: { loginuid: -1 } })), true);
  assert.equal(check('proc.pid <= 4242 and proc.pid > 4241', ev), true);
  assert.match(loadError('fd.num = abc')?.message ?? '', /'abc' is not a valid number for field 'fd.num'/);
  // a string field never orders
  assert.match(loadError('proc.name < 5')?.message ?? '', /operator '<' is not supported by field 'proc.name' of type string/);
  assert.match(loadError('proc.name contains 5 and fd.num contains 1')?.message ?? '', /operator 'contains' is not supported by field 'fd.num'/);
  // a numeric-looking string on a string field is a string
  assert.equal(check('proc.name = 5', event({ proc: { name: '5' } })), true);
});

test('absolute times compare beyond 2^53 exactly', () => {
  assert.equal(check('evt.rawtime = 1700000000123456789', ev), true);
  assert.equal(check('evt.rawtime > 1700000000123456788', ev), true);
  assert.equal(check('evt.rawtime < 1700000000123456789', ev), false);
});

test('booleans and derived open flags', () => {
  assert.equal(check('evt.is_open_read = true', ev), true);
  assert.equal(check('evt.is_open_write = true', ev), false);
  assert.equal(check('evt.is_open_write = false', ev), true);
  const w = event({ evt: { type: 'open', arg: { flags: 'O_WRONLY|O_CREAT|O_TRUNC' } } });
  assert.equal(check('evt.is_open_write=true and evt.is_open_create=true and evt.is_open_read=false', w), true);
  const rw = event({ evt: { type: 'openat2', arg: { flags: 'O_RDWR' } } });
  assert.equal(check('evt.is_open_write=true and evt.is_open_read=true', rw), true);
  // from raw flags when the rendered flags are absent (O_WRONLY = 1)
  const raw = event({ evt: { type: 'openat', arg: {}, rawarg: { flags: 1 } } });
  assert.equal(check('evt.is_open_write=true and evt.is_open_read=false', raw), true);
  assert.match(loadError('evt.is_open_read = yes')?.message ?? '', /not a valid boolean/);
});

test('evt.res is SUCCESS or the errno name; evt.rawres is the number', () => {
  const fail = event({ evt: { type: 'openat', res: -2, rawres: -2, failed: true, arg: { name: 'x', flags: 'O_RDONLY' } }, fd: undefined });
  assert.equal(check('evt.res = ENOENT and evt.rawres = -2 and evt.failed = true', fail), true);
  assert.equal(check('evt.res startswith E', fail), true);
  assert.equal(check('evt.res = SUCCESS', ev), true);
  assert.equal(check('fd.num = -1 and fd.typechar = f', fail), true); // derived for a failed open
});

test('IP addresses and networks (CIDR), IPv4 and IPv6', () => {
  const net = event({
    evt: { type: 'connect' },
    fd: { type: 'ipv4', typechar: '4', cip: '10.0.0.5', sip: '169.254.169.254', cport: 40000, sport: 80, l4proto: 'tcp', is_server: false },
  });
  assert.equal(check('fd.sip = 169.254.169.254', net), true);
  assert.equal(check('fd.sip = "169.254.169.254"', net), true);
  assert.equal(check('fd.sip != 169.254.169.254', net), false);
  assert.equal(check('fd.snet = "169.254.0.0/16"', net), true);
  assert.equal(check('fd.snet in ("10.0.0.0/8", "192.168.0.0/16")', net), false);
  assert.equal(check('fd.cnet in ("10.0.0.0/8", "192.168.0.0/16")', net), true);
  assert.equal(check('fd.net = "10.0.0.0/8"', net), true); // either endpoint
  assert.equal(check('fd.net != "127.0.0.0/8"', net), true);
  assert.equal(check('fd.ip = 10.0.0.5', net), true);
  assert.equal(check('fd.port = 80 and fd.lport = 40000 and fd.rport = 80', net), true);
  assert.equal(check('fd.rip = 169.254.169.254 and fd.lip = 10.0.0.5', net), true);
  const v6 = event({ fd: { sip: '::ffff:10.1.2.3', cip: 'fe80::1' } });
  assert.equal(check('fd.sip = 10.1.2.3', v6), true);
  assert.equal(check('fd.cnet = "fe80::/10"', v6), true);
  assert.equal(check('fd.cip = "fe80:0:0::1"', v6), true);
  assert.match(loadError('fd.sip = 1.2.3')?.message ?? '', /not a valid IP address/);
  assert.match(loadError('fd.snet = "1.2.3.4/33"')?.message ?? '', /not a valid network/);
});

test('field arguments: proc.aname[n] (n=0 is the process), any-ancestor without index, evt.arg forms', () => {
  const e = event({
    proc: { name: 'sh', pname: undefined, aname: ['python3', 'node', 'containerd-shim', 'systemd'], aexepath: ['/usr/bin/python3', '/usr/bin/node'] },
    evt: { arg: { exe: '/bin/sh', args: '-c id' } },
  });
  assert.equal(check('proc.aname[0] = sh', e), true);
  assert.equal(check('proc.aname[1] = python3 and proc.pname = python3', e), true);
  assert.equal(check('proc.aname[3] = containerd-shim', e), true);
  assert.equal(check('proc.aname[9] = x', e), false);
  assert.equal(check('proc.aname[9] exists', e), false);
  assert.equal(check('proc.aname = node', e), true); // any ancestor
  assert.equal(check('proc.aname = sh', e), false); // ancestors only, not the process itself
  assert.equal(check('proc.aname in (systemd, init)', e), true);
  assert.equal(check('proc.aexepath[2] endswith node', e), true);
  assert.equal(check('evt.arg.exe = /bin/sh', e), true);
  assert.equal(check('evt.arg[exe] = /bin/sh', e), true);
  assert.equal(check('evt.arg[1] = "-c id"', e), true); // by position
  assert.equal(check('evt.arg.nope exists', e), false);
  assert.match(loadError('proc.aname[x] = a')?.message ?? '', /requires a numeric index/);
});

test('quoted strings: both quote styles, escaped quotes and backslashes', () => {
  const e = event({ proc: { cmdline: 'sh -c "echo \'hi\'" \\x' } });
  assert.equal(check(`proc.cmdline contains "\\"echo"`, e), true);
  assert.equal(check(`proc.cmdline contains '\\'hi\\''`, e), true);
  assert.equal(check(`proc.cmdline endswith "\\\\x"`, e), true);
  assert.equal(check(`proc.cmdline = 'sh -c "echo \\'hi\\'" \\\\x'`, e), true);
});

test('and / or / not precedence and parentheses', () => {
  assert.equal(check('proc.name = cat or proc.name = x and proc.name = y', ev), true); // and binds tighter
  assert.equal(check('(proc.name = cat or proc.name = x) and proc.name = y', ev), false);
  assert.equal(check('not proc.name = x and proc.name = cat', ev), true);
  assert.equal(check('not (proc.name = cat or proc.name = x)', ev), false);
  assert.equal(check('not not proc.name = cat', ev), true);
  assert.equal(check('not(proc.name = x)', ev), true);
  assert.equal(check('proc.name = x or(proc.name = cat)', ev), true);
});

test('transformers: tolower, toupper, b64, basename, len, join, concat, nested', () => {
  const e = event({ proc: { name: 'Cat', exepath: '/usr/bin/cat', env: 'aGVsbG8=', aname: ['bash', 'sshd'] } });
  assert.equal(check('tolower(proc.name) = cat', e), true);
  assert.equal(check('toupper(proc.name) = CAT', e), true);
  assert.equal(check('b64(proc.env) = hello', e), true);
  assert.equal(check('b64(proc.name) exists', e), false); // not base64: no value
  assert.equal(check('basename(proc.exepath) = cat', e), true);
  assert.equal(check('len(proc.name) = 3', e), true);
  assert.equal(check('len(proc.aname) = 2', e), true);
  assert.equal(check('len(proc.name) > 2', e), true);
  assert.equal(check('join(",", proc.aname) = "bash,sshd"', e), true);
  assert.equal(check('concat(proc.name, "-", basename(proc.exepath)) = Cat-cat', e), true);
  assert.equal(check('toupper(tolower(proc.name)) = CAT', e), true);
  assert.equal(check('proc.name = val(proc.name)', e), true);
  assert.equal(check('tolower(proc.name) = val(proc.exe)', event({ proc: { name: 'BASH', exe: 'bash' } })), true);
  assert.equal(check('proc.pid = val(thread.tid)', e), true);
  assert.equal(check('proc.pid != val(proc.ppid)', e), true);
  assert.match(loadError('tolower(proc.pid) = 1')?.message ?? '', /requires a string field/);
  assert.match(loadError('join(",", proc.name) = x')?.message ?? '', /second argument must be a list/);
});

test('unknown operator, unknown field and malformed conditions are load errors with positions', () => {
  const op = loadError('proc.name startswit x');
  assert.match(op?.message ?? '', /unknown operator 'startswit'/);
  assert.equal(op?.line, 4);
  assert.equal(op?.col, 25); // the quoted condition starts at col 14 of line 4; 'startswit' is 11 chars in
  const f = loadError('proc.nme = x');
  assert.match(f?.message ?? '', /unknown field 'proc.nme'/);
  assert.match(loadError('proc.name = x and')?.message ?? '', /expected/);
  assert.match(loadError('(proc.name = x')?.message ?? '', /expected a '\)' token/);
  assert.match(loadError('proc.name = "x')?.message ?? '', /unterminated quoted string/);
});

test('depth cap: deeply nested parentheses are rejected, reasonable nesting is fine', () => {
  assert.equal(check('('.repeat(50) + 'proc.name = cat' + ')'.repeat(50), ev), true);
  assert.match(loadError('('.repeat(1200) + 'proc.name = cat' + ')'.repeat(1200))?.message ?? '', /exceeded max depth/);
});

test("proc.env: Falco's space-joined form, proc.env[NAME] for one variable, missing when not captured", () => {
  const e = event({ proc: { env: ['HOME=/root', 'GLIBC_TUNABLES=glibc.malloc.mxfast=1', 'EMPTY=', 'X=a=b'] } });
  assert.equal(check('proc.env = "HOME=/root GLIBC_TUNABLES=glibc.malloc.mxfast=1 EMPTY= X=a=b"', e), true);
  assert.equal(check('proc.env icontains glibc_tunables', e), true);
  assert.equal(check('proc.env[HOME] = /root', e), true);
  assert.equal(check('proc.env[X] = "a=b"', e), true, 'only the first = separates name and value');
  assert.equal(check('proc.env[EMPTY] = ""', e), true);
  assert.equal(check('proc.env[EMPTY] exists', e), true);
  assert.equal(check('proc.env[HOM] exists', e), false, 'a name, not a prefix');
  assert.equal(check('proc.env[NOPE] exists', e), false);
  const none = event();
  assert.equal(check('proc.env exists', none), false);
  assert.equal(check('proc.env icontains GLIBC_TUNABLES', none), false);
  assert.equal(check('proc.env[HOME] exists', none), false);
});
