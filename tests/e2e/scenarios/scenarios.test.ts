// Live scenario suite (issue 4): for each stable Falco rule this machine can trigger, the scenario
// of src/selftest/scenarios.ts performs the behaviour for real (in a runc container where the
// rule needs one) under ONE real sensor shared by the whole file, and the test asserts that the
// rule fired exactly once from the scenario's own processes, with the exact output field values,
// and never from the benign twin. Same runner as `vigil selftest`. Rules left out and known gaps:
// README.md next to this file. Under VIGIL_REQUIRE_BPF=1 a missing prerequisite fails.
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { kernelPrereqMissing, sharedDir } from '../../helpers/kernel.ts';
import { SCENARIOS } from '../../../src/selftest/scenarios.ts';
import { SelftestRunner } from '../../../src/selftest/runner.ts';

const rulesFile = path.join(sharedDir, 'falco', 'falco_rules.yaml');
const missing = kernelPrereqMissing(['runc', 'python3']) ?? (existsSync(rulesFile) ? undefined : `no stable rules at ${rulesFile}`);
const required = process.env.VIGIL_REQUIRE_BPF === '1';

describe('live scenarios: stable Falco rules on real behaviour (real kernel)', { skip: missing && !required ? missing : false }, () => {
  let runner: SelftestRunner;

  before(async () => {
    if (missing) throw new Error(`VIGIL_REQUIRE_BPF=1 but ${missing}`);
    runner = await SelftestRunner.start({ rulesFile });
  });

  after(async () => {
    await runner?.stop();
  });

  test('the sensor attached a hook for every event type the scenarios need', () => {
    const attached = new Set(
      runner.sensor
        .hooks()
        .filter((h) => !h.error)
        .map((h) => h.spec.id),
    );
    for (const id of [
      'tp_btf:sched_process_exec',
      'syscall:openat',
      'syscall:connect',
      'syscall:socket',
      'syscall:dup2',
      'syscall:symlinkat',
      'syscall:link',
      'syscall:ptrace',
    ]) {
      assert.ok(attached.has(id), `${id} attached (have ${[...attached].join(', ')})`);
    }
  });

  for (const s of SCENARIOS) {
    test(s.rule, s.gap ? { todo: s.gap } : {}, async (t) => {
      const why = runner.prerequisite(s);
      if (why) {
        if (required) throw new Error(`VIGIL_REQUIRE_BPF=1 but ${why}`);
        t.skip(why);
        return;
      }
      const r = await runner.run(s);
      assert.equal(r.fired.length, 1, `exactly one "${s.rule}" alert from the scenario: ${r.detail}`);
      const a = r.fired[0]!.alert;
      assert.equal(a.rule, s.rule);
      for (const [k, want] of Object.entries(r.expected)) {
        if (want instanceof RegExp) assert.match(String(a.output_fields[k]), want, `${k} in ${a.output}`);
        else assert.equal(a.output_fields[k], want, `${k} in ${a.output}`);
      }
      assert.equal(r.benignFired.length, 0, `benign twin: ${r.detail}`);
      assert.ok(r.pass, r.detail);
    });
  }
});
