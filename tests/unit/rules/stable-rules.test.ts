// End-to-end tests of community Falco rules (stable file, unmodified) against hand-built events
// in the docs/event-format.md shape: each rule fires on its event, with the exact alert record
// (Falco json_output shape), and stays silent on a benign twin.
process.env.TZ = 'UTC';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RuleLoader, alertToJson } from '../../../src/rules/index.ts';
import type { Alert, Ev } from '../../../src/rules/index.ts';
import { STABLE, containerEvent, event } from '../../helpers/rules.ts';

const loaded = new RuleLoader({ hostname: 'test-host', uuid: () => '00000000-0000-4000-8000-000000000000' }).loadFiles([STABLE]);
assert.equal(loaded.ok, true);
const rs = loaded.ruleset;

function alertOf(ev: Ev): Alert | undefined {
  const a = rs.evaluate(ev);
  assert.ok(a.length <= 1);
  return a[0];
}

const TIME = '1700000000123456789';

function common(a: Alert, rule: string, priority: string): void {
  assert.equal(a.rule, rule);
  assert.equal(a.priority, priority);
  assert.equal(a.source, 'syscall');
  assert.equal(a.hostname, 'test-host');
  assert.equal(a.time, '2023-11-14T22:13:20.123456789Z');
  assert.equal(a.uuid, '00000000-0000-4000-8000-000000000000');
  assert.ok(a.output.startsWith(`22:13:20.123456789: ${priority} `), a.output);
  assert.equal(a.output_fields['evt.time'], TIME);
}

test('Read sensitive file untrusted: cat reading /etc/shadow fires; sshd reading it, or a write, does not', () => {
  const ev = event({
    evt: { type: 'openat', category: 'file', res: 3, rawres: 3, arg: { fd: 3, dirfd: -100, name: '/etc/shadow', flags: 'O_RDONLY|O_CLOEXEC', mode: 0 } },
    proc: {
      name: 'cat',
      exe: 'cat',
      exepath: '/usr/bin/cat',
      args: '/etc/shadow',
      cmdline: 'cat /etc/shadow',
      pname: 'bash',
      aname: ['bash', 'sshd', 'systemd'],
      apid: [4000, 900, 1],
    },
    fd: { num: 3, type: 'file', typechar: 'f', name: '/etc/shadow', nameraw: '/etc/shadow', directory: '/etc', filename: 'shadow' },
  });
  const a = alertOf(ev);
  assert.ok(a);
  common(a, 'Read sensitive file untrusted', 'Warning');
  assert.equal(
    a.output,
    '22:13:20.123456789: Warning Sensitive file opened for reading by non-trusted program | file=/etc/shadow gparent=sshd ggparent=systemd gggparent=<NA> evt_type=openat user=root user_uid=0 user_loginuid=1000 process=cat proc_exepath=/usr/bin/cat parent=bash command=cat /etc/shadow terminal=34816',
  );
  assert.deepEqual(a.output_fields, {
    'evt.time': TIME,
    'fd.name': '/etc/shadow',
    'proc.aname[2]': 'sshd',
    'proc.aname[3]': 'systemd',
    'proc.aname[4]': null,
    'evt.type': 'openat',
    'user.name': 'root',
    'user.uid': 0,
    'user.loginuid': 1000,
    'proc.name': 'cat',
    'proc.exepath': '/usr/bin/cat',
    'proc.pname': 'bash',
    'proc.cmdline': 'cat /etc/shadow',
    'proc.tty': 34816,
  });
  assert.deepEqual(a.tags, ['T1555', 'container', 'filesystem', 'host', 'maturity_stable', 'mitre_credential_access']);
  // JSON line: Falco key order, ns time as an integer, missing values null
  const json = alertToJson(a);
  assert.ok(json.startsWith('{"hostname":"test-host","output":"22:13:20.123456789: Warning Sensitive file opened'));
  assert.ok(
    json.includes(
      '"output_fields":{"evt.time":1700000000123456789,"evt.type":"openat","fd.name":"/etc/shadow","proc.aname[2]":"sshd","proc.aname[3]":"systemd","proc.aname[4]":null,',
    ),
  );
  assert.ok(
    json.endsWith(
      ',"priority":"Warning","rule":"Read sensitive file untrusted","source":"syscall","tags":["T1555","container","filesystem","host","maturity_stable","mitre_credential_access"],"time":"2023-11-14T22:13:20.123456789Z","uuid":"00000000-0000-4000-8000-000000000000"}',
    ),
  );
  assert.deepEqual(Object.keys(JSON.parse(json)), ['hostname', 'output', 'output_fields', 'priority', 'rule', 'source', 'tags', 'time', 'uuid']);
  // benign twins
  assert.equal(alertOf(event({ ...ev, proc: { ...(ev.proc as object), name: 'sshd' } } as never)), undefined);
  assert.equal(alertOf(event({ ...ev, evt: { ...(ev.evt as object), arg: { name: '/etc/shadow', flags: 'O_WRONLY' } } } as never)), undefined);
  assert.equal(alertOf(event({ ...ev, fd: { ...(ev.fd as object), name: '/etc/hosts' } } as never)), undefined);
});

test('Run shell untrusted: nginx spawning sh fires; cron spawning sh does not', () => {
  const ev = event({
    evt: { type: 'execve', arg: { exe: '/bin/sh', args: '-c id', cwd: '/' } },
    proc: {
      name: 'sh',
      exe: 'sh',
      exepath: '/usr/bin/sh',
      args: '-c id',
      cmdline: 'sh -c id',
      tty: 0,
      pname: 'nginx',
      pexe: 'nginx',
      pexepath: '/usr/sbin/nginx',
      pcmdline: 'nginx -g daemon off;',
      aname: ['nginx', 'containerd-shim', 'systemd'],
    },
  });
  const a = alertOf(ev);
  assert.ok(a);
  common(a, 'Run shell untrusted', 'Notice');
  assert.equal(a.output_fields['proc.pexe'], 'nginx');
  assert.equal(a.output_fields['proc.pexepath'], '/usr/sbin/nginx');
  assert.equal(a.output_fields['proc.pcmdline'], 'nginx -g daemon off;');
  assert.equal(a.output_fields['proc.aname[2]'], 'containerd-shim');
  assert.equal(a.output_fields['proc.aname[3]'], 'systemd');
  assert.equal(a.output_fields['proc.aname[7]'], null);
  assert.equal(a.output_fields['proc.cmdline'], 'sh -c id');
  assert.equal(a.output_fields['evt.arg.flags'], null);
  assert.match(a.output, /aname\[7\]=<NA> .* exe_flags=<NA>$/);
  assert.equal(alertOf(event({ ...ev, proc: { ...(ev.proc as object), pname: 'cron', aname: ['cron', 'systemd'] } } as never)), undefined);
});

test('Terminal shell in container: bash with a tty in a container fires; without a tty it does not', () => {
  const ev = containerEvent({
    evt: { type: 'execve', arg: { exe: '/bin/bash', args: '' } },
    proc: {
      name: 'bash',
      exe: 'bash',
      exepath: '/bin/bash',
      args: '',
      cmdline: 'bash',
      tty: 34817,
      pname: 'containerd-shim',
      aname: ['containerd-shim', 'systemd'],
    },
  });
  const a = alertOf(ev);
  assert.ok(a);
  common(a, 'Terminal shell in container', 'Notice');
  assert.equal(a.output_fields['proc.tty'], 34817);
  assert.equal(a.output_fields['proc.pname'], 'containerd-shim');
  assert.equal(a.output_fields['user.loginuid'], 1000);
  assert.equal(
    alertOf(containerEvent({ evt: { type: 'execve' }, proc: { name: 'bash', tty: 0, pname: 'containerd-shim', aname: ['containerd-shim'] } })),
    undefined,
  );
  // on the host it is not a container
  assert.equal(
    alertOf(event({ evt: { type: 'execve' }, proc: { name: 'bash', tty: 34817, pname: 'containerd-shim', aname: ['containerd-shim'] } })),
    undefined,
  );
});

test('Search Private Keys or Passwords: grep for a private key header fires; an ordinary grep does not', () => {
  const ev = event({
    evt: { type: 'execve' },
    proc: {
      name: 'grep',
      exe: 'grep',
      exepath: '/usr/bin/grep',
      args: '-r "BEGIN RSA PRIVATE" /home',
      cmdline: 'grep -r "BEGIN RSA PRIVATE" /home',
      pname: 'bash',
      aname: ['bash', 'sshd'],
    },
  });
  const a = alertOf(ev);
  assert.ok(a);
  common(a, 'Search Private Keys or Passwords', 'Warning');
  assert.equal(a.output_fields['proc.cmdline'], 'grep -r "BEGIN RSA PRIVATE" /home');
  assert.equal(alertOf(event({ evt: { type: 'execve' }, proc: { name: 'grep', args: '-r TODO src', cmdline: 'grep -r TODO src', pname: 'bash' } })), undefined);
  // find for id_rsa
  assert.equal(
    alertOf(event({ evt: { type: 'execve' }, proc: { name: 'find', args: '/ -name id_rsa', pname: 'bash' } }))?.rule,
    'Search Private Keys or Passwords',
  );
});

test('Clear Log Activities: truncating /var/log/syslog fires; appending to it does not', () => {
  const ev = event({
    evt: { type: 'openat', category: 'file', res: 4, rawres: 4, arg: { fd: 4, name: '/var/log/syslog', flags: 'O_WRONLY|O_TRUNC|O_CREAT', mode: 420 } },
    proc: { name: 'sh', args: '-c : > /var/log/syslog', cmdline: 'sh -c : > /var/log/syslog' },
    fd: { num: 4, type: 'file', typechar: 'f', name: '/var/log/syslog' },
  });
  const a = alertOf(ev);
  assert.ok(a);
  common(a, 'Clear Log Activities', 'Warning');
  assert.equal(a.output_fields['fd.name'], '/var/log/syslog');
  assert.equal(a.output_fields['evt.type'], 'openat');
  assert.equal(
    alertOf(event({ ...ev, evt: { ...(ev.evt as object), arg: { fd: 4, name: '/var/log/syslog', flags: 'O_WRONLY|O_APPEND' } } } as never)),
    undefined,
  );
  // fd.directory / fd.filename are derived from fd.name when the event does not carry them
  assert.equal(alertOf(event({ ...ev, fd: { num: 4, type: 'file', typechar: 'f', name: '/var/log/app/auth.log' } } as never))?.rule, 'Clear Log Activities');
});

test('Packet socket created in container: AF_PACKET in a container fires; AF_INET does not', () => {
  const ev = containerEvent({
    evt: { type: 'socket', category: 'net', res: 5, rawres: 5, arg: { domain: 'AF_PACKET', type: 'SOCK_RAW', proto: 768 } },
    proc: { name: 'tcpdump', args: '-i eth0', cmdline: 'tcpdump -i eth0', pname: 'sh' },
    fd: { num: 5, type: 'packet', typechar: 'p' },
  });
  const a = alertOf(ev);
  assert.ok(a);
  common(a, 'Packet socket created in container', 'Notice');
  assert.equal(a.output_fields['evt.args'], 'domain=AF_PACKET type=SOCK_RAW proto=768');
  assert.equal(a.output_fields['fd.name'], null);
  assert.equal(a.output_fields['fd.lport'], null);
  assert.equal(a.output_fields['proc.name'], 'tcpdump');
  assert.equal(
    alertOf(containerEvent({ evt: { type: 'socket', arg: { domain: 'AF_INET', type: 'SOCK_STREAM', proto: 6 } }, proc: { name: 'curl' } })),
    undefined,
  );
  assert.equal(alertOf(event({ evt: { type: 'socket', arg: { domain: 'AF_PACKET' } }, proc: { name: 'tcpdump' } })), undefined); // host
});

test('PTRACE attached to process: PTRACE_ATTACH fires; PTRACE_PEEKDATA does not', () => {
  const ev = event({
    evt: { type: 'ptrace', category: 'priv', arg: { request: 'PTRACE_ATTACH', pid: 777 } },
    proc: { name: 'injector', exepath: '/tmp/injector', args: '777', cmdline: 'injector 777', pcmdline: 'bash -i' },
  });
  const a = alertOf(ev);
  assert.ok(a);
  common(a, 'PTRACE attached to process', 'Warning');
  assert.equal(a.output_fields['proc.pcmdline'], 'bash -i');
  assert.equal(a.output_fields['proc.exepath'], '/tmp/injector');
  assert.equal(alertOf(event({ evt: { type: 'ptrace', arg: { request: 'PTRACE_PEEKDATA', pid: 777 } }, proc: { name: 'injector' } })), undefined);
  assert.equal(alertOf(event({ evt: { type: 'ptrace', arg: { request: 'PTRACE_TRACEME' } }, proc: { name: 'sample' } }))?.rule, 'PTRACE anti-debug attempt');
});

test('Fileless execution via memfd_create: exe from a memfd fires; a regular exe does not', () => {
  const ev = event({
    evt: { type: 'execve', arg: { exe: 'memfd:payload', args: '' } },
    proc: {
      name: '3',
      exe: 'memfd:payload',
      exepath: 'memfd:payload',
      args: '',
      cmdline: '3',
      cwd: '/tmp/',
      is_exe_from_memfd: true,
      sname: 'bash',
      pname: 'python3',
      aname: ['python3', 'bash', 'sshd'],
    },
  });
  const a = alertOf(ev);
  assert.ok(a);
  common(a, 'Fileless execution via memfd_create', 'Critical');
  assert.deepEqual(
    [
      a.output_fields['container.start_ts'],
      a.output_fields['proc.cwd'],
      a.output_fields['evt.res'],
      a.output_fields['proc.sname'],
      a.output_fields['proc.aname[2]'],
    ],
    [null, '/tmp/', 'SUCCESS', 'bash', 'bash'],
  );
  assert.equal(alertOf(event({ ...ev, proc: { ...(ev.proc as object), is_exe_from_memfd: false } } as never)), undefined);
});

test('Create Symlink Over Sensitive Files: a link to /etc/shadow fires; to /etc/hosts does not', () => {
  const ev = event({
    evt: { type: 'symlinkat', category: 'file', arg: { target: '/etc/shadow', linkdirfd: -100, linkpath: '/tmp/s' } },
    proc: { name: 'ln', args: '-s /etc/shadow /tmp/s', cmdline: 'ln -s /etc/shadow /tmp/s' },
  });
  const a = alertOf(ev);
  assert.ok(a);
  common(a, 'Create Symlink Over Sensitive Files', 'Warning');
  assert.equal(a.output_fields['evt.arg.target'], '/etc/shadow');
  assert.equal(a.output_fields['evt.arg.linkpath'], '/tmp/s');
  assert.match(a.output, /target=\/etc\/shadow linkpath=\/tmp\/s evt_type=symlinkat/);
  assert.equal(alertOf(event({ ...ev, evt: { ...(ev.evt as object), arg: { target: '/etc/hosts', linkpath: '/tmp/h' } } } as never)), undefined);
  assert.equal(
    alertOf(event({ ...ev, evt: { ...(ev.evt as object), arg: { target: '/root', linkpath: '/tmp/r' } } } as never))?.rule,
    'Create Symlink Over Sensitive Files',
  );
});

test('append_output adds container and pod fields to every alert', () => {
  const l = new RuleLoader({ hostname: 'h', appendOutput: true });
  const r = l.loadFiles([STABLE]);
  assert.equal(r.ok, true);
  const ev = containerEvent({ evt: { type: 'socket', arg: { domain: 'AF_PACKET' } }, proc: { name: 'tcpdump' } });
  const a = r.ruleset.evaluate(ev)[0];
  assert.ok(a);
  assert.match(
    a.output,
    / container_id=abcdef123456 container_name=web container_image_repository=nginx container_image_tag=1\.25 k8s_pod_name=web-1 k8s_ns_name=default$/,
  );
  assert.equal(a.output_fields['container.id'], 'abcdef123456');
  assert.equal(a.output_fields['container.image.repository'], 'nginx');
  assert.equal(a.output_fields['k8s.ns.name'], 'default');
  assert.equal(a.output_fields['k8s.pod.name'], 'web-1');
});

test('rule_matching: first (default) reports one rule per event, all reports every match', () => {
  const yaml = `
- rule: A
  desc: d
  condition: evt.type = execve and proc.name = x
  output: a
  priority: INFO
- rule: B
  desc: d
  condition: evt.type = execve and proc.name startswith x
  output: b
  priority: INFO
`;
  const ev = event({ evt: { type: 'execve' }, proc: { name: 'x' } });
  assert.deepEqual(
    new RuleLoader()
      .loadString(yaml)
      .ruleset.evaluate(ev)
      .map((a) => a.rule),
    ['A'],
  );
  assert.deepEqual(
    new RuleLoader({ ruleMatching: 'all' })
      .loadString(yaml)
      .ruleset.evaluate(ev)
      .map((a) => a.rule),
    ['A', 'B'],
  );
});
