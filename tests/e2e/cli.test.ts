// The `vigil run` / `vigil status` command-line contract, driven as a user would: the real CLI as
// a child process, JSON lines on stdout, the control socket, signals and exit codes.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { kernelPrereqMissing, vigilBin, repoRoot, spawnVigilRun, waitForStatusSocket } from '../helpers/kernel.ts';

const pexec = promisify(execFile);
const missing = kernelPrereqMissing();
const required = process.env.VIGIL_REQUIRE_BPF === '1';

const startRun = spawnVigilRun;

async function waitFor(pred: () => boolean, ms: number, what: string) {
  const end = Date.now() + ms;
  while (!pred()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('vigil run and vigil status (real kernel)', { skip: missing && !required ? missing : false }, () => {
  let dir: string;
  before(() => {
    if (missing) throw new Error(`VIGIL_REQUIRE_BPF=1 but ${missing}`);
    dir = mkdtempSync(path.join(tmpdir(), 'vigil-cli-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  test('run --output json streams Falco-named fields; status and metrics answer on the socket; SIGTERM exits 0', async () => {
    const sock = path.join(dir, 's1.sock');
    const r = startRun(['--output', 'json', '--events', 'exec,file', '--socket', sock]);
    await waitFor(() => r.err().includes('not attached') || r.out().length > 0 || false, 20000, 'sensor start').catch(() => {});
    // wait until the socket answers
    await waitForStatusSocket(sock, 30000);
    const tag = randomBytes(4).toString('hex');
    await pexec('/bin/sh', ['-c', `/bin/cat /etc/hostname # ${tag}`]);
    await pexec('/bin/ls', [`/tmp/${tag}`]).catch(() => {});
    await waitFor(() => r.out().includes(`/tmp/${tag}`), 10000, 'events on stdout');

    const { stdout } = await pexec(vigilBin, ['status', '--json', '--socket', sock]);
    const st = JSON.parse(stdout);
    const hookIds = st.hooks.map((h: { id: string }) => h.id);
    assert.ok(hookIds.includes('tp_btf:sched_process_exec'));
    assert.ok(hookIds.includes('syscall:openat'));
    assert.ok(!hookIds.includes('syscall:connect'), 'net hooks are not attached without --events net');
    assert.deepEqual(st.hooks.find((h: { id: string }) => h.id === 'syscall:openat').reasons, ['--events file']);
    assert.ok(st.eventsByType.execve >= 1);
    assert.ok(st.kernel.perType.openat.seen >= st.kernel.perType.openat.emitted);
    assert.equal(typeof st.kernel.ringbufDrops, 'number');
    assert.ok(st.procTable.size > 10);
    const text = (await pexec(vigilBin, ['status', '--socket', sock])).stdout;
    assert.match(text, /syscall:openat\s+syscall\s+needed by: --events file/);
    assert.match(text, /^ring buffer reads: every 5 ms \(or sooner when 1\/16 of the buffer is waiting\)$/m);
    const metrics = (await pexec('curl', ['-s', '--unix-socket', sock, 'http://localhost/metrics'])).stdout;
    assert.match(metrics, /^vigil_kernel_events_emitted_total\{type="openat"\} \d+$/m);
    assert.match(metrics, /^vigil_kernel_ringbuf_drops_total \d+$/m);

    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0);
    const lines = r
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const ls = lines.find((e) => e.evt.type === 'execve' && e.proc.name === 'ls' && e.proc.args === `/tmp/${tag}`);
    assert.ok(ls, 'exec of ls in the JSON stream');
    assert.equal(ls.proc.exepath, '/usr/bin/ls');
    assert.equal(ls.container.id, 'host');
    assert.equal(ls.user.name, 'root');
    assert.equal(typeof ls.evt.num, 'number');
    const cat = lines.find((e) => e.evt.type === 'openat' && e.fd?.name === '/etc/hostname' && e.proc.name === 'cat');
    assert.ok(cat, 'openat of /etc/hostname by cat');
    assert.equal(cat.evt.category, 'file');
    // events are numbered in order without gaps
    for (let i = 1; i < lines.length; i++) assert.equal(lines[i].evt.num, lines[i - 1].evt.num + 1);
  });

  test('a rule that reads proc.env turns environment capture on: the incubating GLIBC_TUNABLES rule fires live, credentials redacted in its output', async () => {
    const sock = path.join(dir, 'env.sock');
    const rules = path.join(repoRoot, '..', 'shared', 'falco');
    const r = startRun(['--rules', path.join(rules, 'falco_rules.yaml'), path.join(rules, 'falco-incubating_rules.yaml'), '--alerts-only', '--socket', sock]);
    await waitForStatusSocket(sock, 60000);
    const st = JSON.parse((await pexec(vigilBin, ['status', '--json', '--socket', sock])).stdout);
    const exec = st.hooks.find((h: { id: string }) => h.id === 'tp_btf:sched_process_exec');
    assert.ok(exec.reasons.includes('proc.env: rule "Program run with disallowed http proxy env" and 1 more'), JSON.stringify(exec.reasons));
    const tag = randomBytes(4).toString('hex');
    await pexec('env', [
      '-i',
      'GLIBC_TUNABLES=glibc.malloc.mxfast=0',
      'AWS_SECRET_ACCESS_KEY=wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY',
      '/bin/echo',
      `tun-${tag}`,
    ]);
    await pexec('env', ['-i', 'LANG=C', '/bin/echo', `benign-${tag}`]);
    await waitFor(() => r.out().includes(`tun-${tag}`), 10000, 'the GLIBC_TUNABLES alert');
    await new Promise((res) => setTimeout(res, 500));
    r.child.kill('SIGTERM');
    assert.equal(await r.exited, 0);
    const alerts = r
      .out()
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const mine = alerts.filter((a) => String(a.output_fields['proc.cmdline'] ?? '').includes(tag));
    assert.deepEqual(
      mine.map((a) => a.rule),
      ['Potential Local Privilege Escalation via Environment Variables Misuse'],
      'fires once, not for the benign twin',
    );
    assert.equal(mine[0].output_fields['proc.env'], 'GLIBC_TUNABLES=glibc.malloc.mxfast=0 AWS_SECRET_ACCESS_KEY=***REDACTED***');
    assert.equal(mine[0].priority, 'Notice');
    assert.ok(!r.out().includes('wJalrXUtnFEMIK7MDENGbPxRfiCYEXAMPLEKEY'));
  });

  test('run --max-events and --duration stop by themselves with exit 0', async () => {
    const r = startRun(['--output', 'text', '--events', 'exec,file', '--max-events', '5', '--no-socket']);
    const bg = setInterval(() => execFile('/bin/true', () => {}), 100);
    const code = await r.exited;
    clearInterval(bg);
    assert.equal(code, 0);
    assert.ok(r.out().trim().split('\n').length >= 5);
    assert.match(r.out(), /^\d\d:\d\d:\d\d\.\d{9} \d+ \S+ \(\d+\) \w+ res=-?\d+/m);
    const t0 = Date.now();
    const d = startRun(['--output', 'json', '--events', 'exec', '--duration', '2', '--no-socket']);
    assert.equal(await d.exited, 0);
    assert.ok(Date.now() - t0 >= 2000);
  });

  test('not root: exit 2 with one line that says what is missing', async () => {
    const res = await pexec(
      'setpriv',
      [
        '--reuid=65534',
        '--regid=65534',
        '--clear-groups',
        'node',
        '--import',
        path.join(repoRoot, 'node_modules/tsx/dist/loader.mjs'),
        path.join(repoRoot, 'src/cli/main.ts'),
        'run',
        '--no-socket',
      ],
      { cwd: '/' },
    ).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    assert.equal(res.code, 2);
    const lines = res.stderr.trim().split('\n');
    assert.equal(lines.length, 1, res.stderr);
    assert.match(lines[0]!, /root/);
  });

  test('bad usage: unknown event family is exit 2 with the expected values', async () => {
    const res = await pexec(vigilBin, ['run', '--events', 'exec,bogus', '--no-socket']).then(
      () => ({ code: 0, stderr: '' }),
      (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
    );
    assert.equal(res.code, 2);
    assert.match(res.stderr, /unknown event family "bogus" \(expected exec, file, net, priv, fd, caps, or all\)/);
    for (const [args, msg] of [
      [['--wakeup-ms', '5000'], 'vigil: VIGIL_E_USAGE: --wakeup-ms must be between 0 and 1000'],
      [['--env-max', '9000'], 'vigil: VIGIL_E_USAGE: --env-max must be at most 4096'],
      [['--env-max', '-5'], 'vigil: VIGIL_E_USAGE: --env-max must be a non-negative integer, got "-5"'],
    ] as const) {
      const r = await pexec(vigilBin, ['run', ...args, '--no-socket']).then(
        () => ({ code: 0, stderr: '' }),
        (e: { code: number; stderr: string }) => ({ code: e.code, stderr: e.stderr }),
      );
      assert.equal(r.code, 2, args.join(' '));
      assert.equal(r.stderr.trim(), msg);
    }
  });
});
