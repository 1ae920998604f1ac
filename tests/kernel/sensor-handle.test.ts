// Kernel test (root + BPF): the narrow handle a consumer gets from a live sensor (SensorHandle,
// Sensor.handle()): the loader's hello parsed once, the loader pid, the command port, process
// facts of a process the sensor saw exec, and a synthetic record enriched and delivered to every
// consumer with the next sequence number.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { needKernel } from '../helpers/kernel.ts';
import { startSensor } from '../helpers/sensor.ts';
import { ABI_VERSION, K } from '../../src/abi/layout.ts';
import type { RawEvent } from '../../src/sensor/kinds.ts';
import { registerFanxDecisionKind } from '../../src/policy/decision-events.ts';
import { requestStats } from '../../src/kernel/commands.ts';

test('SensorHandle of a live sensor', { timeout: 60_000 }, async (t) => {
  if (!needKernel(t)) return;
  const ts = await startSensor(['exec']);
  t.after(() => ts.stop());
  const h = ts.sensor.handle();
  assert.equal(h.hello.abi, ABI_VERSION);
  assert.equal(h.hello.pid, h.loaderPid);
  assert.equal(h.hello.text, ts.sensor.loader.hello);
  // the port takes the typed commands
  await requestStats(h.port);

  ts.mark();
  const child = spawn('sleep', ['1']);
  // (execvp may fail on earlier PATH entries first: those execve events still name node)
  await ts.waitFor((e) => e.evt.type === 'execve' && e.proc.pid === child.pid && e.proc.name === 'sleep', 10_000, 'the exec of sleep');
  const facts = h.process(child.pid!);
  assert.ok(facts, 'the process table knows the child');
  assert.equal(facts.ppid, process.pid);
  assert.equal(facts.name, 'sleep');
  assert.equal(facts.uid, 0);

  registerFanxDecisionKind();
  const seen: number[] = [];
  h.onEvent((ev) => {
    if (ev.policy?.enforcer === 'fanotify') seen.push(ev.evt.num as number);
  });
  const d = {
    policy: { name: 'p', action: 'Block', rule: 'file.matchPaths[0]' },
    evt: { type: 'openat', res: -1 },
    proc: { pid: child.pid! },
    fd: { name: '/etc/shadow' },
  };
  const r: RawEvent = {
    kind: K.DECISION,
    flags: 0,
    ts: 1n,
    cgroupId: 0n,
    res: -1,
    pid: child.pid!,
    tid: child.pid!,
    ppid: process.pid,
    uid: 0,
    gid: 0,
    euid: 0,
    loginuid: 0xffffffff,
    cpu: 0,
    pidns: 0,
    mntns: 0,
    netns: 0,
    vpid: 0,
    comm: 'sleep',
    syscall: 0,
    args: [],
    bigArgs: [],
    strs: [JSON.stringify(d)],
    strFlags: [0],
    strBytes: [],
  };
  const before = ts.sensor.counters.emitted;
  let patched = '';
  assert.equal(
    h.injectRecord(r, (ev) => (patched = String(ev.fd?.name))),
    true,
  );
  assert.equal(patched, '/etc/shadow');
  assert.equal(ts.sensor.counters.emitted, before + 1);
  assert.equal(seen.length, 1);
  const injected = ts.events.find((e) => e.policy?.enforcer === 'fanotify')!;
  assert.equal(injected.proc.name, 'sleep', 'enriched from the process table');
  assert.equal(injected.policy!.rule, 'file.matchPaths[0]');
  child.kill();
});
