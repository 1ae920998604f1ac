// Selftest: the live scenario table, in the spirit of Falco's event-generator. For each stable
// Falco rule this machine can trigger, `run` performs the behaviour for real (in a runc container
// where the rule requires one), `benign` performs its harmless twin, and `expect` gives the exact
// output fields the one alert of the rule must carry. The runner (runner.ts) attributes alerts to
// a scenario by the processes and containers it started (ScenarioContext), never by time alone.
// Rules left out, and why: tests/e2e/scenarios/README.md.
import { copyFileSync, chmodSync, existsSync, mkdirSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { VigilError } from '../common/errors.ts';
import { CAP_NAMES } from '../sensor/kinds.ts';
import { DEFAULT_CAPS } from './container.ts';
import { python, type ScenarioContext } from './context.ts';

export type FieldValue = string | number | boolean | null;
/** Expected output_fields: exact values, or a RegExp the (string) value must match. */
export type ExpectedFields = Record<string, FieldValue | RegExp>;

export interface Scenario {
  /** the Falco rule name (also the scenario's name) */
  rule: string;
  needsContainer: boolean;
  /** host commands the scenario runs */
  needs?: string[];
  /** a known Vigil gap that keeps this scenario from passing (reported with FAIL) */
  gap?: string;
  run(ctx: ScenarioContext): Promise<void>;
  benign(ctx: ScenarioContext): Promise<void>;
  /** exact output fields of the one alert (called after run, so it can use ctx.vars) */
  expect(ctx: ScenarioContext): ExpectedFields;
}

// ---------------------------------------------------------------------------------------------
// helpers

/** comm of this process: the parent name of every host process a scenario spawns */
export function selfComm(): string {
  return readFileSync('/proc/self/comm', 'utf8').trim();
}

function which(cmd: string): string {
  for (const d of (process.env.PATH ?? '/usr/sbin:/usr/bin:/sbin:/bin').split(':')) {
    const p = path.join(d, cmd);
    if (existsSync(p)) return p;
  }
  return cmd;
}

/** The path the kernel reports as the executable of `cmd` (symlinks resolved). */
function exePath(cmd: string): string {
  try {
    return realpathSync(cmd.includes('/') ? cmd : which(cmd));
  } catch {
    return cmd;
  }
}

function script(ctx: ScenarioContext, name: string, body: string): string {
  const p = path.join(ctx.dir, name);
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

/** Falco renders capability sets in capability-number order. */
function capString(caps: string[]): string {
  return [...caps].sort((a, b) => CAP_NAMES.indexOf(a) - CAP_NAMES.indexOf(b)).join(' ');
}

/** Every capability this process may grant (its bounding set): what --privileged gives a container. */
function allCaps(): string[] {
  const m = /CapBnd:\s*([0-9a-f]+)/.exec(readFileSync('/proc/self/status', 'utf8'));
  const mask = BigInt(`0x${m?.[1] ?? '0'}`);
  return CAP_NAMES.filter((_, i) => (mask >> BigInt(i)) & 1n);
}

function userName(uid: number): string | undefined {
  try {
    for (const line of readFileSync('/etc/passwd', 'utf8').split('\n')) {
      const f = line.split(':');
      if (Number(f[2]) === uid && f[0]) return f[0];
    }
  } catch {
    /* no passwd */
  }
  return undefined;
}

const HOST = { 'container.id': 'host' } as const;
const ROOT = { 'user.name': 'root', 'user.uid': 0 } as const;

function inContainer(ctx: ScenarioContext, name: string): ExpectedFields {
  return {
    'container.id': String(ctx.vars['container.id']),
    'container.name': name,
    'k8s.pod.name': `selftest-${ctx.tag}`,
    'k8s.ns.name': 'vigil-selftest',
  };
}

const PTRACE_PY = `
import ctypes, os, sys, time
libc = ctypes.CDLL(None, use_errno=True)
libc.ptrace.argtypes = [ctypes.c_long, ctypes.c_long, ctypes.c_void_p, ctypes.c_void_p]
libc.ptrace.restype = ctypes.c_long
mode = sys.argv[1]
if mode == 'traceme':
    r = libc.ptrace(0, 0, None, None)  # PTRACE_TRACEME: the classic anti-debug check
    print(r, flush=True)
    sys.exit(0)
if mode == 'tracerpid':
    # the benign way to ask "am I being debugged": /proc/self/status, no ptrace call
    print([l for l in open('/proc/self/status') if l.startswith('TracerPid')][0].strip(), flush=True)
    sys.exit(0)
pid = os.fork()
if pid == 0:
    time.sleep(30)
    os._exit(0)
time.sleep(0.1)
if mode == 'attach':
    r = libc.ptrace(16, pid, None, None)  # PTRACE_ATTACH
    os.waitpid(pid, 0)
    libc.ptrace(17, pid, None, None)  # PTRACE_DETACH
else:
    r = libc.ptrace(2, pid, None, None)  # PTRACE_PEEKDATA without attaching: ESRCH
os.kill(pid, 9)
os.waitpid(pid, 0)
print(r, flush=True)
`;

const MEMFD_PY = `
import os, sys
data = open(sys.argv[2], 'rb').read()
if sys.argv[1] == 'memfd':
    fd = os.memfd_create('vst-' + sys.argv[3], 0)
    os.write(fd, data)
    path = '/proc/self/fd/%d' % fd
    print(fd, flush=True)
else:
    path = sys.argv[4]
    with open(path, 'wb') as f:
        f.write(data)
    os.chmod(path, 0o755)
    print(os.path.basename(path), flush=True)
os.execv(path, ['vst-exec', sys.argv[3]])
`;

const SSH_PY = `
import socket, subprocess, sys
ip, port = '203.0.113.7', int(sys.argv[1])
subprocess.run(['ip', 'link', 'set', 'lo', 'up'], check=True)
subprocess.run(['ip', 'addr', 'add', ip + '/32', 'dev', 'lo'], check=True)
s = socket.socket()
s.bind((ip, port))
s.listen(1)
c = subprocess.Popen(['ssh', '-F', '/dev/null', '-p', str(port), '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=no',
                      '-o', 'UserKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=5', 'selftest@' + ip, 'true'],
                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
s.settimeout(10)
a, peer = s.accept()
a.close()
c.wait(timeout=10)
print(peer[1], flush=True)
`;

const SSH_ARGS = (port: number) =>
  `ssh -F /dev/null -p ${port} -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=5 selftest@203.0.113.7 true`;

function pyFile(ctx: ScenarioContext, name: string, body: string): string {
  const p = path.join(ctx.dir, name);
  writeFileSync(p, body);
  return p;
}

/** A connected TCP socket to a local listener (the "attacker's" end stays open in this process). */
async function tcpPair(): Promise<{ sock: net.Socket; port: number; localPort: number; close: () => void }> {
  const peers: net.Socket[] = [];
  const srv = net.createServer((s) => peers.push(s));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  const sock = net.connect(port, '127.0.0.1');
  await new Promise<void>((r, j) => {
    sock.once('connect', r);
    sock.once('error', j);
  });
  return {
    sock,
    port,
    localPort: sock.localPort!,
    close: () => {
      sock.destroy();
      for (const p of peers) p.destroy();
      srv.close();
    },
  };
}

/** Kubernetes service environment kubelet gives every container (the API server's cluster IP). */
const K8S_ENV = [
  'KUBERNETES_SERVICE_HOST=10.96.0.1',
  'KUBERNETES_SERVICE_PORT=443',
  'KUBERNETES_SERVICE_PORT_HTTPS=443',
  'KUBERNETES_PORT=tcp://10.96.0.1:443',
];

async function k8sConnect(ctx: ScenarioContext, target: string): Promise<void> {
  const c = await ctx.container({
    name: 'api-client',
    applets: ['nc'],
    env: K8S_ENV,
    files: { '/etc/resolv.conf': 'search vigil-selftest.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n' },
  });
  // the cluster IPs exist on the pod's loopback (set up from the host: not the scenario's doing)
  for (const ip of ['10.96.0.1', '10.96.0.20']) {
    execFileSync('nsenter', ['-t', String(c.pid), '-n', 'ip', 'addr', 'add', `${ip}/32`, 'dev', 'lo'], { stdio: 'ignore' });
  }
  const server = c.exec(['nc', '-l', '-p', '443'], { timeoutMs: 8000 });
  await new Promise((r) => setTimeout(r, 300));
  const r = await c.exec(['nc', '-w', '2', target, '443'], { timeoutMs: 8000 });
  await server;
  ctx.vars.clientExit = r.code;
}

// ---------------------------------------------------------------------------------------------
// the table

export const SCENARIOS: Scenario[] = [
  {
    rule: 'Read sensitive file untrusted',
    needsContainer: false,
    needs: ['cat'],
    async run(ctx) {
      await ctx.must('cat', ['/etc/shadow'], { quiet: true });
    },
    async benign(ctx) {
      // sshd reading /etc/shadow is trusted (read_sensitive_file_binaries)
      await ctx.must(script(ctx, 'sshd', 'read line < /etc/shadow\nexit 0'), []);
    },
    expect: () => ({
      ...HOST,
      ...ROOT,
      'fd.name': '/etc/shadow',
      'evt.type': 'openat',
      'proc.name': 'cat',
      'proc.cmdline': 'cat /etc/shadow',
      'proc.exepath': exePath('cat'),
      'proc.pname': selfComm(),
    }),
  },
  {
    rule: 'Read sensitive file trusted after startup',
    needsContainer: false,
    needs: ['sleep'],
    async run(ctx) {
      // a server program (nginx) reading /etc/shadow when it has been running for over 5 s
      const p = script(ctx, 'nginx', 'sleep 5.5\nread line < /etc/shadow\nexit 0');
      ctx.vars.script = p;
      await ctx.must(p, []);
    },
    async benign(ctx) {
      // the same read at start-up (proc_is_new) is what servers legitimately do
      await ctx.must(script(ctx, 'nginx', 'read line < /etc/shadow\nexit 0'), []);
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'fd.name': '/etc/shadow',
      'evt.type': 'openat',
      'proc.name': 'nginx',
      'proc.cmdline': `nginx ${ctx.vars.script}`,
      'proc.exepath': exePath('/bin/sh'),
      'proc.pname': selfComm(),
    }),
  },
  {
    rule: 'Directory traversal monitored file read',
    needsContainer: false,
    needs: ['cat'],
    async run(ctx) {
      const depth = ctx.dir.split('/').filter(Boolean).length;
      const raw = `${ctx.dir}/${'../'.repeat(depth)}etc/passwd`;
      ctx.vars.raw = raw;
      await ctx.must('cat', [raw], { quiet: true });
    },
    async benign(ctx) {
      await ctx.must('cat', ['/etc/passwd'], { quiet: true });
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'fd.name': '/etc/passwd',
      'fd.nameraw': String(ctx.vars.raw),
      'evt.type': 'openat',
      'proc.name': 'cat',
      'proc.cmdline': `cat ${ctx.vars.raw}`,
      'proc.pname': selfComm(),
    }),
  },
  {
    rule: 'Run shell untrusted',
    needsContainer: false,
    async run(ctx) {
      const p = script(ctx, 'nginx', `/bin/sh -c 'echo ${ctx.tag}'\nexit 0`);
      ctx.vars.script = p;
      await ctx.must(p, []);
    },
    async benign(ctx) {
      // the same shell below an unprotected program
      await ctx.must(script(ctx, 'backup-job', `/bin/sh -c 'echo ${ctx.tag}'\nexit 0`), []);
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'evt.type': 'execve',
      'proc.name': 'sh',
      'proc.cmdline': `sh -c echo ${ctx.tag}`,
      'proc.exepath': exePath('/bin/sh'),
      'proc.pname': 'nginx',
      'proc.pexe': '/bin/sh',
      'proc.pexepath': exePath('/bin/sh'),
      'proc.pcmdline': `nginx ${ctx.vars.script}`,
      'proc.aname[2]': selfComm(),
      'proc.tty': 0,
    }),
  },
  {
    rule: 'System user interactive',
    needsContainer: false,
    needs: ['setpriv'],
    async run(ctx) {
      // below an sshd, a system user (nobody) runs a command
      await ctx.must(script(ctx, 'sshd', `setpriv --reuid=65534 --regid=65534 --clear-groups /bin/true ${ctx.tag}\nexit 0`), []);
    },
    async benign(ctx) {
      // below an sshd, root (a login user) runs the same command
      await ctx.must(script(ctx, 'sshd', `/bin/true ${ctx.tag}\nexit 0`), []);
    },
    expect: (ctx) => ({
      ...HOST,
      'user.name': userName(65534) ?? null,
      'user.uid': 65534,
      'evt.type': 'execve',
      'proc.name': 'true',
      'proc.cmdline': `true ${ctx.tag}`,
      'proc.exepath': exePath('/bin/true'),
      'proc.pname': 'sshd',
    }),
  },
  {
    rule: 'Terminal shell in container',
    needsContainer: true,
    needs: ['script'],
    async run(ctx) {
      const c = await ctx.container({ name: 'shell-tty' });
      const r = await c.exec(['sh', '-c', `echo ${ctx.tag}`], { tty: true });
      if (r.code !== 0) throw new VigilError('VIGIL_E_SELFTEST', `runc exec -t: ${r.stdout}${r.stderr}`);
    },
    async benign(ctx) {
      const c = await ctx.container({ name: 'shell-tty' });
      await c.exec(['sh', '-c', `echo ${ctx.tag}`]);
    },
    // the first terminal of the container's devpts instance: /dev/pts/0 = (136 << 8) | 0
    expect: (ctx) => ({
      ...inContainer(ctx, 'shell-tty'),
      ...ROOT,
      'evt.type': 'execve',
      'proc.name': 'sh',
      'proc.cmdline': `sh -c echo ${ctx.tag}`,
      'proc.exepath': '/bin/sh',
      'proc.pname': 'runc',
      'proc.tty': 34816,
    }),
  },
  {
    rule: 'Contact K8S API Server From Container',
    needsContainer: true,
    needs: ['nsenter', 'ip'],
    async run(ctx) {
      await k8sConnect(ctx, '10.96.0.1');
    },
    async benign(ctx) {
      // another service of the cluster
      await k8sConnect(ctx, '10.96.0.20');
    },
    expect: (ctx) => ({
      ...inContainer(ctx, 'api-client'),
      ...ROOT,
      'evt.type': 'connect',
      'fd.name': /^127\.0\.0\.1:\d+->10\.96\.0\.1:443$|^10\.96\.0\.1:\d+->10\.96\.0\.1:443$/,
      'fd.rport': 443,
      'fd.type': 'ipv4',
      'fd.l4proto': 'tcp',
      'proc.name': 'nc',
      'proc.cmdline': 'nc -w 2 10.96.0.1 443',
    }),
  },
  {
    rule: 'Netcat Remote Code Execution in Container',
    needsContainer: true,
    async run(ctx) {
      const c = await ctx.container({ name: 'netcat', applets: ['nc'] });
      await c.exec(['nc', '127.0.0.1', '1', '-e', '/bin/sh']);
    },
    async benign(ctx) {
      const c = await ctx.container({ name: 'netcat', applets: ['nc'] });
      await c.exec(['nc', '127.0.0.1', '1']);
    },
    expect: (ctx) => ({
      ...inContainer(ctx, 'netcat'),
      ...ROOT,
      'evt.type': 'execve',
      'proc.name': 'nc',
      'proc.cmdline': 'nc 127.0.0.1 1 -e /bin/sh',
      'proc.exepath': '/bin/nc',
      'proc.pname': 'runc',
    }),
  },
  {
    rule: 'Search Private Keys or Passwords',
    needsContainer: false,
    needs: ['grep'],
    async run(ctx) {
      mkdirSync(path.join(ctx.dir, 'keys'));
      writeFileSync(path.join(ctx.dir, 'keys', 'id_test'), '-----BEGIN RSA PRIVATE KEY-----\nnot a key\n-----END RSA PRIVATE KEY-----\n');
      await ctx.spawn('grep', ['-rl', 'BEGIN RSA PRIVATE', path.join(ctx.dir, 'keys')]);
    },
    async benign(ctx) {
      mkdirSync(path.join(ctx.dir, 'keys'));
      writeFileSync(path.join(ctx.dir, 'keys', 'cert.pem'), '-----BEGIN CERTIFICATE-----\nnot a cert\n-----END CERTIFICATE-----\n');
      await ctx.spawn('grep', ['-rl', 'BEGIN CERTIFICATE', path.join(ctx.dir, 'keys')]);
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'evt.type': 'execve',
      'proc.name': 'grep',
      'proc.cmdline': `grep -rl BEGIN RSA PRIVATE ${ctx.dir}/keys`,
      'proc.exepath': exePath('grep'),
      'proc.pname': selfComm(),
    }),
  },
  {
    rule: 'Find AWS Credentials',
    needsContainer: false,
    needs: ['find'],
    async run(ctx) {
      mkdirSync(path.join(ctx.dir, 'home', '.aws'), { recursive: true });
      writeFileSync(path.join(ctx.dir, 'home', '.aws', 'credentials'), '[default]\naws_access_key_id = AKIAEXAMPLE\n');
      await ctx.spawn('find', [path.join(ctx.dir, 'home'), '-path', '*/.aws/credentials']);
    },
    async benign(ctx) {
      mkdirSync(path.join(ctx.dir, 'home', '.aws'), { recursive: true });
      writeFileSync(path.join(ctx.dir, 'home', '.aws', 'config'), '[default]\nregion = eu-west-1\n');
      await ctx.spawn('find', [path.join(ctx.dir, 'home'), '-path', '*/.aws/config']);
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'evt.type': 'execve',
      'proc.name': 'find',
      'proc.cmdline': `find ${ctx.dir}/home -path */.aws/credentials`,
      'proc.cwd': `${ctx.dir}/`,
      'proc.exepath': exePath('find'),
      'proc.pname': selfComm(),
      'group.gid': 0,
      'group.name': 'root',
    }),
  },
  {
    rule: 'Clear Log Activities',
    needsContainer: true,
    async run(ctx) {
      const c = await ctx.container({ name: 'logs', files: { '/var/log/auth.log': 'Accepted publickey for root\n' } });
      await c.exec(['sh', '-c', ': > /var/log/auth.log']);
    },
    async benign(ctx) {
      const c = await ctx.container({ name: 'logs', files: { '/var/log/auth.log': 'Accepted publickey for root\n' } });
      await c.exec(['sh', '-c', 'echo rotated >> /var/log/auth.log']);
    },
    expect: (ctx) => ({
      ...inContainer(ctx, 'logs'),
      ...ROOT,
      'evt.type': 'openat',
      'fd.name': '/var/log/auth.log',
      'proc.name': 'sh',
      'proc.cmdline': 'sh -c : > /var/log/auth.log',
      'proc.pname': 'runc',
    }),
  },
  {
    rule: 'Remove Bulk Data from Disk',
    needsContainer: false,
    needs: ['shred'],
    async run(ctx) {
      writeFileSync(path.join(ctx.dir, 'data.bin'), Buffer.alloc(65536, 7));
      await ctx.must('shred', ['-u', path.join(ctx.dir, 'data.bin')]);
    },
    async benign(ctx) {
      writeFileSync(path.join(ctx.dir, 'data.bin'), Buffer.alloc(65536, 7));
      await ctx.must('rm', [path.join(ctx.dir, 'data.bin')]);
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'evt.type': 'execve',
      'proc.name': 'shred',
      'proc.cmdline': `shred -u ${ctx.dir}/data.bin`,
      'proc.exepath': exePath('shred'),
      'fd.name': null,
    }),
  },
  {
    rule: 'Create Symlink Over Sensitive Files',
    needsContainer: false,
    needs: ['ln'],
    async run(ctx) {
      await ctx.must('ln', ['-s', '/etc/shadow', path.join(ctx.dir, 'shadow-link')]);
    },
    async benign(ctx) {
      await ctx.must('ln', ['-s', '/etc/hostname', path.join(ctx.dir, 'hostname-link')]);
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'evt.type': 'symlinkat',
      'evt.arg.target': '/etc/shadow',
      'evt.arg.linkpath': `${ctx.dir}/shadow-link`,
      'proc.name': 'ln',
      'proc.cmdline': `ln -s /etc/shadow ${ctx.dir}/shadow-link`,
    }),
  },
  {
    rule: 'Create Hardlink Over Sensitive Files',
    needsContainer: true,
    async run(ctx) {
      const c = await ctx.container({ name: 'hardlink', applets: ['ln'], files: { '/etc/shadow': 'root:*:19000:0:99999:7:::\n', '/etc/motd': 'hello\n' } });
      await c.exec(['ln', '/etc/shadow', '/tmp/shadow-hl']);
    },
    async benign(ctx) {
      const c = await ctx.container({ name: 'hardlink', applets: ['ln'], files: { '/etc/shadow': 'root:*:19000:0:99999:7:::\n', '/etc/motd': 'hello\n' } });
      await c.exec(['ln', '/etc/motd', '/tmp/motd-hl']);
    },
    expect: (ctx) => ({
      ...inContainer(ctx, 'hardlink'),
      ...ROOT,
      'evt.type': 'link',
      'evt.arg.oldpath': '/etc/shadow',
      'evt.arg.newpath': '/tmp/shadow-hl',
      'proc.name': 'ln',
      'proc.cmdline': 'ln /etc/shadow /tmp/shadow-hl',
      'proc.exepath': '/bin/ln',
    }),
  },
  {
    rule: 'Packet socket created in container',
    needsContainer: true,
    async run(ctx) {
      const c = await ctx.container({ name: 'arp', applets: ['arping', 'nc'] });
      await c.exec(['arping', '-c', '1', '-w', '1', '-I', 'lo', '127.0.0.1']);
    },
    async benign(ctx) {
      const c = await ctx.container({ name: 'arp', applets: ['arping', 'nc'] });
      await c.exec(['nc', '127.0.0.1', '1']);
    },
    expect: (ctx) => ({
      ...inContainer(ctx, 'arp'),
      ...ROOT,
      'evt.type': 'socket',
      'evt.args': /domain=AF_PACKET/,
      'proc.name': 'arping',
      'proc.cmdline': 'arping -c 1 -w 1 -I lo 127.0.0.1',
      'proc.exepath': '/bin/arping',
    }),
  },
  {
    rule: 'Redirect STDOUT/STDIN to Network Connection in Container',
    needsContainer: true,
    async run(ctx) {
      // a shell whose stdin becomes a TCP connection (fd 3, the connection, handed in by runc exec)
      const c = await ctx.container({ name: 'revshell' });
      const t = await tcpPair();
      ctx.vars.port = t.port;
      ctx.vars.localPort = t.localPort;
      try {
        await c.exec(['sh', '-c', `exec 0<&3; echo ${ctx.tag}`], { fds: [t.sock] });
      } finally {
        t.close();
      }
    },
    async benign(ctx) {
      // the same connection duplicated to a non-standard fd
      const c = await ctx.container({ name: 'revshell' });
      const t = await tcpPair();
      try {
        await c.exec(['sh', '-c', `exec 5<&3; echo ${ctx.tag}`], { fds: [t.sock] });
      } finally {
        t.close();
      }
    },
    expect: (ctx) => ({
      ...inContainer(ctx, 'revshell'),
      ...ROOT,
      'evt.type': 'dup2',
      'fd.name': `127.0.0.1:${ctx.vars.localPort}->127.0.0.1:${ctx.vars.port}`,
      'fd.sip': '127.0.0.1',
      'fd.lport': Number(ctx.vars.localPort),
      'fd.rport': Number(ctx.vars.port),
      'fd.type': 'ipv4',
      'fd.l4proto': 'tcp',
      'proc.name': 'sh',
      'proc.cmdline': `sh -c exec 0<&3; echo ${ctx.tag}`,
      'proc.pname': 'runc',
    }),
  },
  {
    rule: 'Detect release_agent File Container Escapes',
    needsContainer: true,
    async run(ctx) {
      // CAP_SYS_ADMIN container mounts a cgroup v1 hierarchy and writes its release_agent. The
      // hierarchy is a private named one (no controllers, no tasks), so nothing is ever released.
      const c = await ctx.container({ name: 'escape', caps: [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'], applets: ['mkdir', 'mount', 'umount', 'cat'] });
      const r = await c.exec([
        'sh',
        '-c',
        `mkdir -p /mnt/cg && mount -t cgroup -o none,name=vst${ctx.tag} cgroup /mnt/cg && echo /bin/true > /mnt/cg/release_agent; umount /mnt/cg`,
      ]);
      if (r.code !== 0) throw new VigilError('VIGIL_E_SELFTEST', `mount/write release_agent: ${r.stderr.trim()}`);
    },
    async benign(ctx) {
      // the same container only reads the release_agent
      const c = await ctx.container({ name: 'escape', caps: [...DEFAULT_CAPS, 'CAP_SYS_ADMIN'], applets: ['mkdir', 'mount', 'umount', 'cat'] });
      await c.exec(['sh', '-c', `mkdir -p /mnt/cg && mount -t cgroup -o none,name=vst${ctx.tag} cgroup /mnt/cg && cat /mnt/cg/release_agent; umount /mnt/cg`]);
    },
    expect: (ctx) => ({
      ...inContainer(ctx, 'escape'),
      ...ROOT,
      'evt.type': 'openat',
      'fd.name': '/mnt/cg/release_agent',
      'proc.name': 'sh',
      'thread.cap_effective': capString([...DEFAULT_CAPS, 'CAP_SYS_ADMIN']),
    }),
  },
  {
    rule: 'PTRACE attached to process',
    needsContainer: false,
    needs: ['python3'],
    async run(ctx) {
      const p = pyFile(ctx, 'ptrace.py', PTRACE_PY);
      ctx.vars.script = p;
      const r = await ctx.must(python(), [p, 'attach']);
      if (r.stdout.trim() !== '0') throw new VigilError('VIGIL_E_SELFTEST', `PTRACE_ATTACH returned ${r.stdout.trim()}`);
    },
    async benign(ctx) {
      await ctx.must(python(), [pyFile(ctx, 'ptrace.py', PTRACE_PY), 'peek']);
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'evt.type': 'ptrace',
      'proc.name': 'python3',
      'proc.cmdline': `python3 ${ctx.vars.script} attach`,
      'proc.exepath': exePath(python()),
      'proc.pname': selfComm(),
    }),
  },
  {
    rule: 'PTRACE anti-debug attempt',
    needsContainer: false,
    needs: ['python3'],
    async run(ctx) {
      const p = pyFile(ctx, 'ptrace.py', PTRACE_PY);
      ctx.vars.script = p;
      await ctx.must(python(), [p, 'traceme']);
    },
    async benign(ctx) {
      await ctx.must(python(), [pyFile(ctx, 'ptrace.py', PTRACE_PY), 'tracerpid']);
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'evt.type': 'ptrace',
      'proc.name': 'python3',
      'proc.cmdline': `python3 ${ctx.vars.script} traceme`,
      'proc.exepath': exePath(python()),
      'proc.pname': selfComm(),
    }),
  },
  {
    rule: 'Execution from /dev/shm',
    needsContainer: false,
    async run(ctx) {
      const p = `/dev/shm/vst-${ctx.tag}`;
      copyFileSync(exePath('/bin/true'), p);
      chmodSync(p, 0o755);
      ctx.onCleanup(() => rmSync(p, { force: true }));
      await ctx.must(p, [ctx.tag]);
    },
    async benign(ctx) {
      const p = path.join(ctx.dir, `vst-${ctx.tag}`);
      copyFileSync(exePath('/bin/true'), p);
      chmodSync(p, 0o755);
      await ctx.must(p, [ctx.tag]);
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'evt.type': 'execve',
      'evt.res': 'SUCCESS',
      'proc.name': `vst-${ctx.tag}`,
      'proc.exepath': `/dev/shm/vst-${ctx.tag}`,
      'proc.cmdline': `vst-${ctx.tag} ${ctx.tag}`,
      'proc.cwd': `${ctx.dir}/`,
      'proc.pname': selfComm(),
    }),
  },
  {
    rule: 'Drop and execute new binary in container',
    needsContainer: true,
    async run(ctx) {
      // a binary that is not in the image (overlayfs upper layer) is written, then run
      const c = await ctx.container({ name: 'dropper', overlay: true, applets: ['cp', 'echo'] });
      await c.exec(['cp', '/bin/busybox', '/tmp/echo']);
      const r = await c.exec(['/tmp/echo', ctx.tag]);
      if (r.code !== 0) throw new VigilError('VIGIL_E_SELFTEST', `dropped binary: ${r.stderr.trim()}`);
    },
    async benign(ctx) {
      const c = await ctx.container({ name: 'dropper', overlay: true, applets: ['cp', 'echo'] });
      await c.exec(['/bin/echo', ctx.tag]);
    },
    expect: (ctx) => ({
      ...inContainer(ctx, 'dropper'),
      ...ROOT,
      'evt.type': 'execve',
      'proc.name': 'echo',
      'proc.exe': '/tmp/echo',
      'proc.exepath': '/tmp/echo',
      'proc.cmdline': `echo ${ctx.tag}`,
      'proc.pname': 'runc',
      'proc.cwd': '/',
      'evt.arg.flags': 'EXE_WRITABLE|EXE_UPPER_LAYER',
    }),
  },
  {
    rule: 'Fileless execution via memfd_create',
    needsContainer: false,
    needs: ['python3'],
    async run(ctx) {
      const r = await ctx.must(python(), [pyFile(ctx, 'memfd.py', MEMFD_PY), 'memfd', exePath('/bin/true'), ctx.tag]);
      ctx.vars.fd = r.stdout.trim();
    },
    async benign(ctx) {
      await ctx.must(python(), [pyFile(ctx, 'memfd.py', MEMFD_PY), 'file', exePath('/bin/true'), ctx.tag, path.join(ctx.dir, 'vst-exec')]);
    },
    // exec of /proc/self/fd/N (as Falco's event-generator does): the kernel names the process N
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'evt.type': 'execve',
      'evt.res': 'SUCCESS',
      'proc.name': String(ctx.vars.fd),
      'proc.cmdline': `${ctx.vars.fd} ${ctx.tag}`,
      'proc.pname': selfComm(),
      'proc.cwd': `${ctx.dir}/`,
    }),
  },
  {
    rule: 'Disallowed SSH Connection Non Standard Port',
    needsContainer: false,
    needs: ['python3', 'ssh', 'unshare', 'ip'],
    async run(ctx) {
      // in a private network namespace, so the "remote" public address never leaves this host
      const r = await ctx.must('unshare', ['-n', python(), pyFile(ctx, 'ssh.py', SSH_PY), '443']);
      ctx.vars.cport = Number(r.stdout.trim());
    },
    async benign(ctx) {
      await ctx.must('unshare', ['-n', python(), pyFile(ctx, 'ssh.py', SSH_PY), '22']);
    },
    expect: (ctx) => ({
      ...HOST,
      ...ROOT,
      'evt.type': 'connect',
      'fd.name': `203.0.113.7:${ctx.vars.cport}->203.0.113.7:443`,
      'fd.lport': Number(ctx.vars.cport),
      'fd.rport': 443,
      'fd.type': 'ipv4',
      'fd.l4proto': 'tcp',
      'proc.name': 'ssh',
      'proc.exepath': exePath('ssh'),
      'proc.pname': 'python3',
      'proc.cmdline': SSH_ARGS(443),
    }),
  },
  {
    rule: 'Debugfs Launched in Privileged Container',
    needsContainer: true,
    needs: ['debugfs', 'ldd'],
    async run(ctx) {
      const c = await ctx.container({ name: 'debug', caps: allCaps(), hostBinaries: [exePath('debugfs')] });
      ctx.vars.debugfs = exePath('debugfs');
      await c.exec([exePath('debugfs'), '-V']);
    },
    async benign(ctx) {
      // the same tool in an unprivileged container
      const c = await ctx.container({ name: 'debug', hostBinaries: [exePath('debugfs')] });
      await c.exec([exePath('debugfs'), '-V']);
    },
    expect: (ctx) => ({
      ...inContainer(ctx, 'debug'),
      ...ROOT,
      'evt.type': 'execve',
      'proc.name': 'debugfs',
      'proc.exepath': String(ctx.vars.debugfs),
      'proc.cmdline': 'debugfs -V',
      'proc.pname': 'runc',
    }),
  },
];

/** Scenarios whose rule name contains one of `names` (case-insensitive); all when none given. */
export function selectScenarios(names: string[] | undefined, all: Scenario[] = SCENARIOS): Scenario[] {
  if (!names?.length) return all;
  const wanted = names.map((n) => n.toLowerCase());
  return all.filter((s) => wanted.some((w) => s.rule.toLowerCase().includes(w)));
}
