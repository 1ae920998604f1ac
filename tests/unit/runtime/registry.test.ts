// The registry of run hooks (src/cli/run-hooks.ts) and the split of `vigil run`'s parsed options:
// every call makes fresh hook instances, and each hook is given the values of the options it
// declared and nothing else; an option declared twice is refused.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Command } from 'commander';
import { createRunHooks } from '../../../src/cli/run-hooks.ts';
import { declareHookOptions } from '../../../src/cli/commands/run.ts';
import type { AnyRunHook } from '../../../src/runtime/index.ts';
import type { Sensor } from '../../../src/sensor/sensor.ts';

test('each call of the registry makes new hook instances, in the documented order', () => {
  const a = createRunHooks();
  const b = createRunHooks();
  assert.deepEqual(
    a.map((h) => h.name),
    ['rules', 'uplink', 'policy'],
  );
  for (let i = 0; i < a.length; i++) assert.notEqual(a[i], b[i]);
});

test("each hook gets the values of its own options only (defaults included), never the core's", () => {
  const cmd = new Command('run').exitOverride().option('--socket <path>', 'core option', '/run/x.sock');
  const valuesOf = declareHookOptions(cmd, createRunHooks());
  cmd.parse(['--rules', 'a.yaml', 'b.yaml', '--server', 'https://x:1', '--policy', 'p.yaml', '--fail-closed', '--no-kernel-filter'], { from: 'user' });
  const v = valuesOf(cmd.opts());
  assert.deepEqual(v, {
    rules: { rules: ['a.yaml', 'b.yaml'], kernelFilter: false },
    uplink: { server: 'https://x:1', data: '/var/lib/vigil/sensor', spoolMaxBytes: 256 * 1024 * 1024, ship: 'all' },
    policy: { policy: ['p.yaml'], defaultPosture: 'audit', failClosed: true },
  });
  const [rules, uplink, policy] = createRunHooks();
  assert.deepEqual(rules!.parseOptions(v.rules!), { rules: ['a.yaml', 'b.yaml'], kernelFilter: false });
  assert.deepEqual(policy!.sensorOptions!(policy!.parseOptions(v.policy!)), { failClosedExec: true });
  assert.deepEqual(uplink!.parseOptions(v.uplink!), { server: 'https://x:1', data: '/var/lib/vigil/sensor', spoolMaxBytes: 256 * 1024 * 1024, ship: 'all' });
});

test('an option value owned by the core and a hook, or by two hooks, is refused when the command is built', () => {
  // commander refuses the same flag twice; a --x / --no-x pair split over two owners is caught here
  const cmd = new Command('run').option('--kernel-filter', 'core option');
  assert.throws(() => declareHookOptions(cmd, createRunHooks()), /run hook rules: option kernelFilter is declared twice/);
  const clash: AnyRunHook<Sensor> = { name: 'clash', declareOptions: (c) => void c.option('--no-fail-closed', 'again'), parseOptions: () => ({}) };
  assert.throws(() => declareHookOptions(new Command('run'), [...createRunHooks(), clash]), /run hook clash: option failClosed is declared twice/);
});
