// End-to-end tests of policy enforcement through the REAL sensor: `vigil run --policy ...` runs as
// a child process (real loader, fanotify enforcer, cgroup BPF programs), real runc containers are
// the workloads, policies change with `vigil policy apply/delete/list/status` over the control
// socket, and the decisions are asserted as events in `vigil run`'s JSON output (policy.*,
// evt.res = -1 for denials, proc/container/k8s fields). Under VIGIL_REQUIRE_BPF=1 a missing
// prerequisite fails instead of skipping.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { kernelPrereqMissing, repoRoot } from '../helpers/kernel.ts';
import { runContainer, podAnnotations, cleanupContainers, type Container } from '../helpers/runc.ts';
import { sendRequest, type PolicyReply } from '../../src/policy/control-client.ts';
import { controlRequest } from '../../src/sensor/control.ts';
import type { VigilEvent } from '../../src/abi/event.ts';
import type { RawEvent } from '../../src/sensor/kinds.ts';
import { netDecisionRecord } from '../helpers/frames.ts';
import { parsePolicyText } from '../../src/policy/validate.ts';
import { compile } from '../../src/policy/compile.ts';
import { decodeNetDecision, NET_DECISION_KIND } from '../../src/policy/net-decision.ts';

const missing = kernelPrereqMissing(['runc']);
const required = process.env.VIGIL_REQUIRE_BPF === '1';

const MAIN = path.join(repoRoot, 'src', 'cli', 'main.ts');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The policy status (control op policy.status, `vigil policy status --json`): the fields these tests read. */
type PolicyStatus = PolicyReply & {
  result?: unknown;
  workloads: Array<{ id: string; name: string }>;
  scopes: Array<{ workload: string; fanotifyScope?: number; netCgroupId?: string }>;
  counters: { netDecisions: number };
  enforcers: {
    file: { enforcer: string; available: boolean; decisions: { injected: number } };
    process: { enforcer: string };
    network: { enforcer: string; available: boolean; attachments: Array<{ dir: string }> };
    lsm: { available: boolean; reason: string };
  };
};

interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
}

/** Runs `vigil <args>` (the real CLI) to completion. */
function vigil(args: string[], timeoutMs = 30_000): Promise<CliResult> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['--import', 'tsx', MAIN, ...args], { cwd: repoRoot, timeout: timeoutMs, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** `vigil run --output json` as a child process, collecting its events. */
class VigilRun {
  readonly child: ChildProcess;
  readonly events: VigilEvent[] = [];
  stderr = '';
  #buf = '';
  #waiters: Array<{ pred: (e: VigilEvent) => boolean; resolve: (e: VigilEvent) => void }> = [];
  readonly exited: Promise<number | null>;

  constructor(
    readonly socket: string,
    extra: string[],
  ) {
    this.child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'run', '--output', 'json', '--events', 'exec', '--socket', socket, ...extra], {
      cwd: repoRoot,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    this.child.stdout!.setEncoding('utf8');
    this.child.stdout!.on('data', (d: string) => {
      this.#buf += d;
      let nl: number;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        let ev: VigilEvent;
        try {
          ev = JSON.parse(line) as VigilEvent;
        } catch {
          continue;
        }
        this.events.push(ev);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.pred(ev)) return true;
          w.resolve(ev);
          return false;
        });
      }
    });
    this.child.stderr!.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => this.child.on('exit', (code, sig) => r(code ?? (sig ? 128 : null))));
  }

  /** Waits until the control socket answers and `ready` holds for the policy status. */
  async ready(pred: (status: PolicyStatus) => boolean = () => true, timeoutMs = 60_000): Promise<PolicyStatus> {
    const t0 = Date.now();
    let last: unknown;
    while (Date.now() - t0 < timeoutMs) {
      if (this.child.exitCode !== null) throw new Error(`vigil run exited (${this.child.exitCode}): ${this.stderr}`);
      if (existsSync(this.socket)) {
        try {
          const r = await sendRequest({ op: 'policy.status' }, this.socket, 5000);
          last = r;
          if (r.ok && pred(r as PolicyStatus)) return r as PolicyStatus;
        } catch (e) {
          last = e;
        }
      }
      await sleep(200);
    }
    throw new Error(`vigil run not ready after ${timeoutMs} ms: ${JSON.stringify(last)}; stderr: ${this.stderr}`);
  }

  waitFor(pred: (e: VigilEvent) => boolean, what: string, timeoutMs = 10_000): Promise<VigilEvent> {
    const found = this.events.find(pred);
    if (found) return Promise.resolve(found);
    return new Promise((resolve, reject) => {
      const w = {
        pred,
        resolve: (e: VigilEvent) => {
          clearTimeout(timer);
          resolve(e);
        },
      };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        const pol = this.events
          .filter((e) => e.policy)
          .map((e) => `${e.evt.type} ${String(e.policy!.name)} ${String(e.policy!.action)} ${String(e.fd?.name)} ${e.container.id}`);
        reject(new Error(`timed out waiting for ${what}; policy events: ${JSON.stringify(pol)}; stderr: ${this.stderr}`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  policyEvents(pred: (e: VigilEvent) => boolean = () => true): VigilEvent[] {
    return this.events.filter((e) => e.policy && pred(e));
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 8000);
    await this.exited;
    clearTimeout(t);
  }
}

const pol = (name: string, container: string, body: string) => `apiVersion: vigil.dev/v1alpha1
kind: VigilPolicy
metadata: {name: ${name}}
spec:
  selector:
    matchLabels: {vigil.dev/container.name: ${container}}
${body}`;

/** Starts a listener on `port` in the container and connects to it; code 0 when the connection worked. */
const connectTo = (c: Container, port: number) =>
  c.exec(['sh', '-c', `nc -l -p ${port} >/dev/null 2>&1 & sleep 0.3; echo hi | nc 127.0.0.1 ${port}; rc=$?; kill %1 2>/dev/null; exit $rc`]);

/** Runs a node one-liner, resolves with its stdout. */
function vigilNode(code: string): Promise<string> {
  return new Promise((resolve) => execFile(process.execPath, ['-e', code], { timeout: 10_000 }, (_e, stdout) => resolve(String(stdout))));
}

function isPid(pid: number): boolean {
  return existsSync(`/proc/${pid}`);
}

// Offline (no kernel): the kind-90 decoder names the type, tuple and matched entry of every hook.
test('VGL_K_NET_DECISION decoder: connect v6, bind, socket, posture', () => {
  const yaml = `${pol('n1', 'w', '  network:\n    matchEgress: [{cidr: "fd00::/8", ports: [443], protocol: TCP}]\n    matchBind: [{ports: [22]}]\n    matchProtocols: [{protocol: raw}]\n  action: Block\n')}---\n${pol('n2', 'w', '  network:\n    matchEgress: [{cidr: 10.0.0.0/8}]\n  action: Allow\n')}`;
  const r = parsePolicyText(yaml, 't.yaml');
  assert.deepEqual(r.errors, []);
  const t = compile(r.policies, [{ id: 'w1', name: 'w', cgroupId: '777', rootPid: 1, mntns: 1 }], { defaultPosture: 'block' });
  const raw = (args: number[], big: Record<number, bigint> = {}, res = -1): RawEvent => {
    const bigArgs = args.map((v) => BigInt.asUintN(64, BigInt(v)));
    for (const [i, v] of Object.entries(big)) bigArgs[Number(i)] = v;
    return netDecisionRecord(args, bigArgs, 777n, res);
  };
  const fd00 = Buffer.from('fd000000000000000000000000000001', 'hex');
  const v6 = raw([3, 0, 10, 6, 443, 0, 1, 0, 0, 0, 1, 0], { 8: fd00.readBigUInt64LE(0), 9: fd00.readBigUInt64LE(8) });
  assert.equal(NET_DECISION_KIND.typeOf!(v6), 'connect');
  const d1 = decodeNetDecision(v6, t);
  assert.deepEqual(d1.policy, { action: 'Block', name: 'n1', severity: 1, rule: 'network.matchEgress[0]', enforcer: 'cgroup-bpf' });
  assert.equal(d1.fd!.name, ':::0->fd00::1:443');
  assert.equal(d1.fd!.type, 'ipv6');
  const bind = raw([3, 0, 2, 6, 22, 0x0100007f, 3, 0, 0, 0, 1, 0]);
  assert.equal(NET_DECISION_KIND.typeOf!(bind), 'bind');
  const d2 = decodeNetDecision(bind, t);
  assert.equal(d2.policy!.rule, 'network.matchBind[0]');
  assert.equal(d2.fd!.name, '127.0.0.1:22');
  const sock = raw([3, 0, 2, 255, 0, 0, 4, 0, 0, 0, 3, 0]);
  assert.equal(NET_DECISION_KIND.typeOf!(sock), 'socket');
  const d3 = decodeNetDecision(sock, t);
  assert.equal(d3.policy!.rule, 'network.matchProtocols[0]');
  assert.equal(d3.arg.type, 'SOCK_RAW');
  const post = raw([3, 0xffff, 2, 6, 80, 0x0101a8c0, 1, 0, 0, 0, 1, 1]);
  const d4 = decodeNetDecision(post, t);
  assert.deepEqual(d4.policy, { action: 'Block', name: 'DefaultPosture', rule: 'posture', allowList: ['n2'], enforcer: 'cgroup-bpf' });
  assert.equal(d4.fd!.name, '0.0.0.0:0->192.168.1.1:80');
});

describe('policies enforced by the live sensor (real kernel, runc, vigil run)', { skip: missing && !required ? missing : false }, () => {
  const tag = randomBytes(3).toString('hex');
  const nameA = `a-${tag}`;
  const nameB = `b-${tag}`;
  const ns = 'vigil-e2e';
  let dir: string;
  let a: Container;
  let b: Container;
  let idA: string;
  const runs: VigilRun[] = [];
  const files = { '/etc/secret': 's3cret\n', '/data/x': 'data\n' };
  let fileBase: string, fileAllow: string, fileAudit: string, fileBad: string, fileReblock: string;

  const start = (extra: string[]) => {
    const r = new VigilRun(path.join(dir, `s${runs.length}.sock`), extra);
    runs.push(r);
    return r;
  };
  const hasScope = (name: string, kind: 'fanotify' | 'net') => (s: PolicyStatus) => {
    const w = (s.workloads as Array<{ id: string; name: string }>).find((x) => x.name === name);
    return (
      !!w &&
      (s.scopes as Array<{ workload: string; fanotifyScope?: number; netCgroupId?: string }>).some(
        (sc) => sc.workload === w.id && (kind === 'fanotify' ? sc.fanotifyScope !== undefined : sc.netCgroupId !== undefined),
      )
    );
  };

  before(async () => {
    if (missing) throw new Error(`VIGIL_REQUIRE_BPF=1 but ${missing}`);
    dir = mkdtempSync(path.join(tmpdir(), 'vigil-policy-live-'));
    const pa = podAnnotations({ pod: `pa-${tag}`, namespace: ns, container: nameA });
    const pb = podAnnotations({ pod: `pb-${tag}`, namespace: ns, container: nameB });
    idA = pa.id;
    a = await runContainer({ name: nameA, id: pa.id, cgroupsPath: pa.cgroupsPath, annotations: pa.annotations, files });
    b = await runContainer({ name: nameB, id: pb.id, cgroupsPath: pb.cgroupsPath, annotations: pb.annotations, files });
    fileBase = path.join(dir, 'base.yaml');
    writeFileSync(
      fileBase,
      `${pol(`block-secret-${tag}`, nameA, '  file:\n    matchPaths: [{path: /etc/secret}]\n  action: Block\n  severity: 7\n  message: no secrets\n')}---\n${pol(
        `block-egress-${tag}`,
        nameA,
        '  network:\n    matchEgress: [{ports: [8080], protocol: TCP}]\n  action: Block\n',
      )}`,
    );
    fileAllow = path.join(dir, 'allow.yaml');
    writeFileSync(
      fileAllow,
      pol(`allow-exec-${tag}`, nameA, '  process:\n    matchPaths: [{path: /bin/sh}, {path: /bin/cat}, {path: /bin/sleep}]\n  action: Allow\n'),
    );
    fileAudit = path.join(dir, 'audit.yaml');
    writeFileSync(
      fileAudit,
      pol(`audit-${tag}`, nameA, '  file:\n    matchPaths: [{path: /data/x}]\n  process:\n    matchPaths: [{path: /bin/ls}]\n  action: Audit\n'),
    );
    fileBad = path.join(dir, 'bad.yaml');
    // line 8, column 25: a relative path
    writeFileSync(fileBad, pol(`bad-${tag}`, nameA, '  file:\n    matchPaths: [{path: etc/passwd}]\n  action: Block\n'));
    fileReblock = path.join(dir, 'reblock.yaml');
    writeFileSync(
      fileReblock,
      pol(`kill-test-${tag}`, nameA, '  file:\n    matchPaths: [{path: /etc/secret}]\n  process:\n    matchPaths: [{path: /bin/ls}]\n  action: Block\n'),
    );
  });

  after(async () => {
    for (const r of runs) await r.stop().catch(() => undefined);
    await cleanupContainers();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  test('an invalid --policy file: vigil run exits non-zero with file:line:col before starting', async () => {
    const sock = path.join(dir, 'never.sock');
    const r = await vigil(['run', '--output', 'json', '--socket', sock, '--policy', fileBase, fileBad], 60_000);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, new RegExp(`^${fileBad.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:8:\\d+: `, 'm'));
    assert.equal(r.stdout, '', 'no events: the sensor never started');
    assert.equal(existsSync(sock), false);
  });

  describe('one sensor, default posture audit', () => {
    let v: VigilRun;
    before(async () => {
      v = start(['--policy', fileBase]);
      await v.ready((s) => hasScope(nameA, 'fanotify')(s) && hasScope(nameA, 'net')(s));
    });

    test('file Block on A: EPERM in A, allowed in B and on the host; exactly one Block event, for A', async () => {
      const ra = await a.exec(['cat', '/etc/secret']);
      assert.notEqual(ra.code, 0);
      assert.match(ra.stderr, /Operation not permitted/);
      const rb = await b.exec(['cat', '/etc/secret']);
      assert.equal(rb.code, 0, rb.stderr);
      assert.equal(rb.stdout, 's3cret\n');
      const host = await new Promise<CliResult>((resolve) =>
        execFile('cat', [path.join(a.rootfs, 'etc', 'secret')], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })),
      );
      assert.equal(host.code, 0, host.stderr);
      assert.equal(host.stdout, 's3cret\n');
      const ev = await v.waitFor((e) => e.policy?.action === 'Block' && e.fd?.name === '/etc/secret', 'the Block event');
      await sleep(500);
      const blocks = v.policyEvents((e) => e.policy!.action === 'Block' && e.evt.type === 'openat');
      assert.equal(blocks.length, 1, JSON.stringify(blocks));
      assert.equal(ev.policy!.name, `block-secret-${tag}`);
      assert.equal(ev.policy!.rule, 'file.matchPaths[0]');
      assert.equal(ev.policy!.severity, 7);
      assert.equal(ev.policy!.message, 'no secrets');
      assert.equal(ev.evt.type, 'openat');
      assert.equal(ev.evt.category, 'file');
      assert.equal(ev.evt.res, -1);
      assert.equal(ev.evt.failed, true);
      assert.equal(ev.evt.policy_decision, true);
      assert.equal(ev.fd!.name, '/etc/secret');
      assert.equal(ev.fd!.directory, '/etc');
      assert.equal(ev.fd!.filename, 'secret');
      assert.equal(ev.container.id, idA.slice(0, 12));
      assert.equal(ev.container.full_id, idA);
      assert.equal(ev.container.name, nameA);
      assert.deepEqual(ev.k8s, { ns: { name: ns }, pod: { name: `pa-${tag}`, uid: a.annotations['io.kubernetes.pod.uid'] } });
      assert.equal(ev.proc.name, 'cat');
      assert.equal(typeof ev.proc.pid, 'number');
      assert.equal(typeof ev.evt.num, 'number');
      assert.match(ev.evt.time, /^\d{19}$/);
      assert.ok(BigInt(Date.now()) * 1_000_000n - BigInt(ev.evt.time) < 60_000_000_000n, 'wall-clock event time');
    });

    test('network egress Block for a port: connect from A fails with EPERM, from B succeeds; a connect Block event for A', async () => {
      const ra = await connectTo(a, 8080);
      assert.notEqual(ra.code, 0);
      assert.match(ra.stderr, /Operation not permitted/);
      const ra2 = await connectTo(a, 8081);
      assert.equal(ra2.code, 0, ra2.stderr);
      const rb = await connectTo(b, 8080);
      assert.equal(rb.code, 0, rb.stderr);
      const ev = await v.waitFor((e) => e.policy?.action === 'Block' && e.evt.type === 'connect', 'the connect Block event');
      await sleep(500);
      const blocks = v.policyEvents((e) => e.evt.type === 'connect');
      assert.equal(blocks.length, 1, JSON.stringify(blocks));
      assert.equal(ev.policy!.name, `block-egress-${tag}`);
      assert.equal(ev.policy!.rule, 'network.matchEgress[0]');
      assert.equal(ev.evt.category, 'net');
      assert.equal(ev.evt.res, -1);
      assert.equal(ev.fd!.sip, '127.0.0.1');
      assert.equal(ev.fd!.sport, 8080);
      assert.equal(ev.fd!.l4proto, 'tcp');
      assert.equal(ev.fd!.name, '0.0.0.0:0->127.0.0.1:8080');
      assert.equal(ev.container.id, idA.slice(0, 12));
      assert.equal(ev.container.name, nameA);
      assert.equal((ev.k8s as { ns?: { name?: string } } | undefined)?.ns?.name, ns);
      // busybox's shell runs applets through /proc/self/exe: comm is "exe", argv[0] is "nc"
      assert.equal(ev.proc.exe, 'nc', JSON.stringify(ev.proc));
      assert.equal(ev.proc.args, '127.0.0.1 8080');
    });

    test('Audit never blocks and always reports', async () => {
      const r = await vigil(['policy', 'apply', fileAudit, '--socket', v.socket]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`applied: audit-${tag}`));
      const r1 = await a.exec(['cat', '/data/x']);
      assert.equal(r1.code, 0, r1.stderr);
      assert.equal(r1.stdout, 'data\n');
      const r2 = await a.exec(['/bin/ls', '/']);
      assert.equal(r2.code, 0, r2.stderr);
      const open = await v.waitFor((e) => e.policy?.name === `audit-${tag}` && e.evt.type === 'openat', 'the open Audit event');
      const exec = await v.waitFor((e) => e.policy?.name === `audit-${tag}` && e.evt.type === 'execve', 'the exec Audit event');
      for (const e of [open, exec]) {
        assert.equal(e.policy!.action, 'Audit');
        assert.equal(e.evt.res, 0);
        assert.equal(e.evt.failed, false);
        assert.equal(e.container.id, idA.slice(0, 12));
      }
      assert.equal(open.fd!.name, '/data/x');
      assert.equal(open.policy!.rule, 'file.matchPaths[0]');
      assert.equal(exec.fd!.name, '/bin/ls');
      assert.equal(exec.evt.category, 'process');
      assert.equal(exec.policy!.rule, 'process.matchPaths[0]');
      // the same in B: nothing selected, nothing reported
      assert.equal((await b.exec(['/bin/ls', '/'])).code, 0);
      await sleep(300);
      assert.equal(v.policyEvents((e) => e.container.id !== idA.slice(0, 12)).length, 0);
    });

    test('policy apply of an invalid file is rejected with file:line:col and the old set stays in force; list; delete lifts the block', async () => {
      const cli = await vigil(['policy', 'apply', fileBad, '--socket', v.socket]);
      assert.equal(cli.code, 1);
      assert.match(cli.stdout, /bad\.yaml:8:\d+: /);
      // the sensor itself rejects it too (what a client without local validation gets)
      const raw = await sendRequest({ op: 'policy.apply', yaml: readFileSync(fileBad, 'utf8'), file: 'bad.yaml' }, v.socket);
      assert.equal(raw.ok, false);
      assert.match(String(raw.errors?.[0]), /^bad\.yaml:8:\d+: /);
      const still = await a.exec(['cat', '/etc/secret']);
      assert.notEqual(still.code, 0, 'the block is still in force');
      assert.match(still.stderr, /Operation not permitted/);

      const list = await vigil(['policy', 'list', '--socket', v.socket]);
      assert.equal(list.code, 0, list.stderr);
      for (const n of [`audit-${tag}`, `block-egress-${tag}`, `block-secret-${tag}`])
        assert.match(list.stdout, new RegExp(`^${n} +VigilPolicy +\\w+ +${idA}`, 'm'));
      assert.doesNotMatch(list.stdout, new RegExp(`bad-${tag}`));

      const del = await vigil(['policy', 'delete', `block-secret-${tag}`, '--socket', v.socket]);
      assert.equal(del.code, 0, del.stderr);
      assert.match(del.stdout, new RegExp(`deleted: block-secret-${tag}`));
      const free = await a.exec(['cat', '/etc/secret']);
      assert.equal(free.code, 0, free.stderr);
      assert.equal(free.stdout, 's3cret\n');
      const list2 = await vigil(['policy', 'list', '--json', '--socket', v.socket]);
      const names = (JSON.parse(list2.stdout) as Array<{ name: string }>).map((p) => p.name).sort();
      assert.deepEqual(names, [`audit-${tag}`, `block-egress-${tag}`]);
      const missingDel = await vigil(['policy', 'delete', `nope-${tag}`, '--socket', v.socket]);
      assert.equal(missingDel.code, 1);
      assert.match(missingDel.stderr, /no policy named/);
    });

    test('policy status shows which enforcer serves each kind of policy', async () => {
      const r = await vigil(['policy', 'status', '--json', '--socket', v.socket]);
      assert.equal(r.code, 0, r.stderr);
      const s = JSON.parse(r.stdout) as PolicyStatus;
      assert.equal(s.enforcers.file.enforcer, 'fanotify');
      assert.equal(s.enforcers.file.available, true);
      assert.equal(s.enforcers.process.enforcer, 'fanotify');
      assert.equal(s.enforcers.network.enforcer, 'cgroup-bpf');
      assert.equal(s.enforcers.network.available, true);
      assert.ok(
        (s.enforcers.network.attachments as Array<{ dir: string }>).some((x) => x.dir === a.cgroupDir),
        JSON.stringify(s.enforcers.network),
      );
      assert.ok(
        !(s.enforcers.network.attachments as Array<{ dir: string }>).some((x) => x.dir === b.cgroupDir),
        'B is not selected: no programs on its cgroup',
      );
      assert.equal(s.enforcers.lsm.available, false);
      assert.equal(typeof s.enforcers.lsm.reason, 'string');
      assert.ok(s.enforcers.file.decisions.injected >= 3, JSON.stringify(s.enforcers.file.decisions));
      assert.ok(s.counters.netDecisions >= 1);
      const text = await vigil(['policy', 'status', '--socket', v.socket]);
      assert.match(text.stdout, /^network +cgroup-bpf +yes/m);
      assert.match(text.stdout, /^lsm +bpf-lsm +no/m);
    });

    test('a container started later is discovered and enforced; when it goes, its scope and cgroup programs go', async (t) => {
      const nameC = `c-${tag}`;
      const fileC = path.join(dir, 'c.yaml');
      writeFileSync(
        fileC,
        pol(`block-c-${tag}`, nameC, '  file:\n    matchPaths: [{path: /etc/secret}]\n  network:\n    matchEgress: [{ports: [8080]}]\n  action: Block\n'),
      );
      const ap = await vigil(['policy', 'apply', fileC, '--socket', v.socket]);
      assert.equal(ap.code, 0, ap.stderr);
      assert.match(ap.stderr, /no root pid known|^$/); // not selected yet: nothing (or a warning) to say
      const pc = podAnnotations({ pod: `pc-${tag}`, namespace: ns, container: nameC });
      const c = await runContainer({ name: nameC, id: pc.id, cgroupsPath: pc.cgroupsPath, annotations: pc.annotations, files });
      const t0 = Date.now();
      await v.ready((st) => hasScope(nameC, 'fanotify')(st) && hasScope(nameC, 'net')(st), 10_000);
      t.diagnostic(`container enforced ${Date.now() - t0} ms after runc run returned`);
      const rc = await c.exec(['cat', '/etc/secret']);
      assert.notEqual(rc.code, 0);
      assert.match(rc.stderr, /Operation not permitted/);
      assert.notEqual((await connectTo(c, 8080)).code, 0);
      const ev = await v.waitFor((e) => e.policy?.name === `block-c-${tag}` && e.evt.type === 'openat', 'the Block event of C');
      assert.equal(ev.container.id, pc.id.slice(0, 12));
      let st = await v.ready((x) => (x.enforcers.network.attachments as Array<{ dir: string }>).some((y) => y.dir === c.cgroupDir), 5000);
      await c.remove();
      // the workload leaves the list first, then the recompiled tables are applied: wait for both
      const attachedToC = (x: PolicyStatus) => (x.enforcers.network.attachments as Array<{ dir: string }>).some((y) => y.dir === c.cgroupDir);
      st = await v.ready((x) => !(x.workloads as Array<{ name: string }>).some((w) => w.name === nameC) && !attachedToC(x), 10_000);
      assert.ok(!attachedToC(st), 'programs detached from the gone container');
      assert.ok(
        !(st.scopes as Array<{ workload: string }>).some((sc) => pc.id.startsWith(sc.workload) || sc.workload.startsWith(pc.id.slice(0, 12))),
        'its scopes are gone',
      );
      assert.ok(
        (st.enforcers.network.attachments as Array<{ dir: string }>).some((y) => y.dir === a.cgroupDir),
        'A keeps its programs',
      );
      const del = await vigil(['policy', 'delete', `block-c-${tag}`, '--socket', v.socket]);
      assert.equal(del.code, 0, del.stderr);
    });

    test('the sensor killed with SIGKILL while a policy is active: the next open and exec complete', async () => {
      const r = await vigil(['policy', 'apply', fileReblock, '--socket', v.socket]);
      assert.equal(r.code, 0, r.stderr);
      assert.notEqual((await a.exec(['cat', '/etc/secret'])).code, 0);
      assert.notEqual((await a.exec(['/bin/ls', '/'])).code, 0);
      const st = await controlRequest(v.socket, { op: 'status' });
      const loaderPid = (st.result as { loaderPid: number }).loaderPid;
      assert.ok(loaderPid > 0 && isPid(loaderPid));
      v.child.kill('SIGKILL');
      await v.exited;
      // the loader sees its stdin close and exits; the kernel then allows everything
      const t0 = Date.now();
      while (isPid(loaderPid) && Date.now() - t0 < 10_000) await sleep(50);
      assert.equal(isPid(loaderPid), false, 'the loader exited after the sensor was killed');
      const t1 = Date.now();
      const r1 = await a.exec(['cat', '/etc/secret'], { timeoutMs: 5000 });
      const r2 = await a.exec(['/bin/ls', '/'], { timeoutMs: 5000 });
      assert.equal(r1.code, 0, r1.stderr);
      assert.equal(r1.stdout, 's3cret\n');
      assert.equal(r2.code, 0, r2.stderr);
      assert.ok(Date.now() - t1 < 5000);
      // and the network programs went with the loader's links
      assert.equal((await connectTo(a, 8080)).code, 0);
    });
  });

  test('allow-list process policy, default posture block: listed binary runs, unlisted fails with EPERM', async () => {
    const v = start(['--default-posture', 'block', '--policy', fileAllow]);
    try {
      await v.ready(hasScope(nameA, 'fanotify'));
      const ok = await a.exec(['cat', '/etc/secret']);
      assert.equal(ok.code, 0, ok.stderr);
      const no = await a.exec(['/bin/ls', '/']);
      assert.notEqual(no.code, 0);
      assert.match(no.stderr, /operation not permitted/i);
      assert.equal((await b.exec(['/bin/ls', '/'])).code, 0, 'B is not selected');
      const ev = await v.waitFor((e) => e.policy?.name === 'DefaultPosture' && e.fd?.name === '/bin/ls', 'the posture Block event');
      await sleep(300);
      assert.equal(v.policyEvents().length, 1, JSON.stringify(v.policyEvents()));
      assert.equal(ev.policy!.action, 'Block');
      assert.equal(ev.policy!.rule, 'posture');
      assert.deepEqual(ev.policy!.allowList, [`allow-exec-${tag}`]);
      assert.equal(ev.evt.type, 'execve');
      assert.equal(ev.evt.res, -1);
      assert.equal(ev.container.id, idA.slice(0, 12));
      assert.equal(ev.container.name, nameA);
    } finally {
      await v.stop();
    }
  });

  test('host policy (selector host): a host open and a host connect are blocked, containers are not', async () => {
    const secret = path.join(dir, `host-secret-${tag}`);
    writeFileSync(secret, 'host\n');
    const fileHost = path.join(dir, 'host.yaml');
    writeFileSync(
      fileHost,
      `apiVersion: vigil.dev/v1alpha1\nkind: VigilPolicy\nmetadata: {name: host-${tag}}\nspec:\n  selector: {host: true}\n  file:\n    matchPaths: [{path: ${secret}}]\n  network:\n    matchEgress: [{cidr: 127.0.0.1/32, ports: [18099], protocol: TCP}]\n  action: Block\n`,
    );
    const v = start(['--policy', fileHost]);
    const connect = () =>
      vigilNode(
        `require('net').connect(18099, '127.0.0.1').on('error', (e) => { console.log(e.code); process.exit(0); }).on('connect', () => { console.log('CONNECTED'); process.exit(0); })`,
      );
    try {
      await v.ready((st) =>
        (st.scopes as Array<{ workload: string; fanotifyScope?: number; netCgroupId?: string }>).some(
          (x) => x.workload === 'host' && x.fanotifyScope !== undefined && x.netCgroupId === '0',
        ),
      );
      const r = await new Promise<CliResult>((resolve) => execFile('cat', [secret], (err, stdout, stderr) => resolve({ code: err ? 1 : 0, stdout, stderr })));
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /Operation not permitted/);
      assert.equal((await connect()).trim(), 'EPERM');
      assert.equal((await a.exec(['nc', '-w', '1', '127.0.0.1', '18099'])).stderr.includes('Operation not permitted'), false, 'containers are not the host');
      const fileEv = await v.waitFor((e) => e.policy?.name === `host-${tag}` && e.evt.type === 'openat', 'the host open Block event');
      assert.equal(fileEv.container.id, 'host');
      assert.equal(fileEv.evt.res, -1);
      assert.equal(fileEv.fd!.name, secret);
      const netEv = await v.waitFor((e) => e.policy?.name === `host-${tag}` && e.evt.type === 'connect', 'the host connect Block event');
      assert.equal(netEv.container.id, 'host');
      assert.equal(netEv.fd!.sport, 18099);
      assert.equal(netEv.policy!.rule, 'network.matchEgress[0]');
    } finally {
      await v.stop();
    }
    // the sensor is gone: nothing is enforced any more
    assert.equal(readFileSync(secret, 'utf8'), 'host\n');
    assert.equal((await connect()).trim(), 'ECONNREFUSED');
  });

  test('allow-list process policy, default posture audit: unlisted runs and is reported', async () => {
    const v = start(['--default-posture', 'audit', '--policy', fileAllow]);
    try {
      await v.ready(hasScope(nameA, 'fanotify'));
      const r = await a.exec(['/bin/ls', '/']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /etc/);
      const ev = await v.waitFor((e) => e.policy?.name === 'DefaultPosture' && e.fd?.name === '/bin/ls', 'the posture Audit event');
      assert.equal(ev.policy!.action, 'Audit');
      assert.equal(ev.evt.res, 0);
      assert.equal(ev.evt.type, 'execve');
      assert.equal(ev.container.id, idA.slice(0, 12));
    } finally {
      await v.stop();
    }
  });
});
