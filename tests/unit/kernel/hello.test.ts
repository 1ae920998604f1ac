// Unit tests (no root) of the one parser of the loader's hello line (src/kernel/hello.ts): every
// field of the line native/loader.c prints, values with spaces, and the errors of malformed lines.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseHello, tryParseHello } from '../../../src/kernel/hello.ts';
import { VigilError } from '../../../src/common/errors.ts';

test('parses every field of the loader hello line', () => {
  const text = 'abi=2 ncpu=2 lsm=0 fanotify=1 pid=4242 boot_offset_ns=1764825600123456789 host_mntns=4026531841 enforce=1 enforce_error=- wakeup_ms=5';
  const h = parseHello(text);
  assert.deepEqual(
    {
      abi: h.abi,
      ncpu: h.ncpu,
      lsm: h.lsm,
      fanotify: h.fanotify,
      pid: h.pid,
      bootOffsetNs: h.bootOffsetNs,
      hostMntns: h.hostMntns,
      enforce: h.enforce,
      enforceError: h.enforceError,
      wakeupMs: h.wakeupMs,
    },
    {
      abi: 2,
      ncpu: 2,
      lsm: false,
      fanotify: true,
      pid: 4242,
      bootOffsetNs: 1764825600123456789n,
      hostMntns: 4026531841,
      enforce: true,
      enforceError: undefined,
      wakeupMs: 5,
    },
  );
  assert.equal(h.fields.enforce_error, '-');
  assert.equal(h.text, text);
});

test('a value with spaces (enforce_error) runs to the next key; a negative offset; unknown keys are kept', () => {
  const h = parseHello(
    'abi=2 boot_offset_ns=-17 enforce=0 enforce_error=kernel refused the enforcement programs: Operation not permitted wakeup_ms=0 future_key=x',
  );
  assert.equal(h.enforce, false);
  assert.equal(h.enforceError, 'kernel refused the enforcement programs: Operation not permitted');
  assert.equal(h.bootOffsetNs, -17n);
  assert.equal(h.wakeupMs, 0);
  assert.equal(h.fields.future_key, 'x');
  // absent fields take their neutral value
  assert.equal(h.fanotify, false);
  assert.equal(h.hostMntns, 0);
});

test('malformed lines are errors naming the offset and what was expected', () => {
  const err = (text: string) => {
    try {
      parseHello(text);
    } catch (e) {
      assert.ok(e instanceof VigilError);
      assert.equal(e.code, 'VIGIL_E_LOADER_ABI');
      return e.message;
    }
    assert.fail(`no error for ${JSON.stringify(text)}`);
  };
  assert.equal(err('ncpu=2 pid=1'), 'loader hello, offset 12: expected abi=<integer> in "ncpu=2 pid=1"');
  assert.equal(err('abi=two ncpu=2'), 'loader hello, offset 4: expected an integer for abi in "abi=two ncpu=2"');
  assert.equal(err('hello abi=2'), 'loader hello, offset 0: expected key=value in "hello abi=2"');
  assert.equal(err('abi=2 =3'), 'loader hello, offset 6: expected key=value in "abi=2 =3"');
  assert.equal(err('abi=2 boot_offset_ns=12x'), 'loader hello, offset 21: expected an integer for boot_offset_ns in "abi=2 boot_offset_ns=12x"');
  assert.equal(err(''), 'loader hello, offset 0: expected abi=<integer> in ""');
});

test('tryParseHello: undefined for what is not a hello line', () => {
  assert.equal(tryParseHello(undefined), undefined);
  assert.equal(tryParseHello('garbage'), undefined);
  assert.equal(tryParseHello('abi=2 wakeup_ms=0')?.wakeupMs, 0);
});
