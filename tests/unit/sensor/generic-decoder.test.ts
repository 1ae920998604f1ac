// The generic decoder (a kind of src/abi/kinds-table.ts without a hand-written decoder gets one built
// from its row), fed with kernel-format records built from the ABI layout: prctl's slots and string
// become Falco's evt.arg / evt.rawarg, options rendered by Falco's names. No root, no kernel.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder } from '../../../src/sensor/decoder.ts';
import { EV, FRAME, K, STR_HDR } from '../../../src/abi/layout.ts';
import { A, STR } from '../../../src/abi/kinds.gen.ts';
import { KIND_BY_ID, KIND_BY_NAME, genericDecoder, type RawEvent } from '../../../src/sensor/kinds.ts';
import { KIND_TABLE } from '../../../src/abi/kinds-table.ts';

/** One kernel record: header, the given slots, and the strings. */
function record(kind: number, res: number, slots: Record<number, bigint>, strs: string[]): Buffer {
  const len = EV.size + strs.reduce((n, s) => n + STR_HDR + Buffer.byteLength(s), 0);
  const b = Buffer.alloc(len);
  b.writeUInt32LE(len, FRAME.len);
  b.writeUInt16LE(kind, FRAME.kind);
  b.writeBigInt64LE(BigInt(res), EV.res);
  b.writeUInt32LE(1234, EV.pid);
  b.writeUInt32LE(1234, EV.tid);
  b.write('python3', EV.comm);
  b.writeUInt16LE(strs.length, EV.nstr);
  for (const [i, v] of Object.entries(slots)) b.writeBigUInt64LE(BigInt.asUintN(64, v), EV.args + 8 * Number(i));
  let o = EV.size;
  for (const s of strs) {
    b.writeUInt16LE(Buffer.byteLength(s), o);
    b.write(s, o + STR_HDR);
    o += STR_HDR + Buffer.byteLength(s);
  }
  return b;
}

function decode(buf: Buffer): RawEvent {
  const out: RawEvent[] = [];
  new FrameDecoder({ event: (r) => out.push(r) }).push(buf);
  assert.equal(out.length, 1);
  return out[0]!;
}

test('prctl has no hand-written decoder: the one built from its row gives Falco fields in order', () => {
  const info = KIND_BY_ID[K.PRCTL]!;
  assert.equal(info.name, 'prctl');
  assert.equal(info.category, 'process');
  assert.equal(info.tp, 'prctl');
  assert.equal(info.nr, process.arch === 'arm64' ? 167 : 157);
  assert.equal(KIND_BY_NAME.get('prctl'), info);

  const setName = info.decode(decode(record(K.PRCTL, 0, { [A.PRCTL.option]: 15n, [A.PRCTL.arg2_int]: 0n }, ['x'])));
  assert.deepEqual(setName, { arg: { res: 0, option: 'PR_SET_NAME', arg2_str: 'x', arg2_int: 0 }, rawarg: { res: 0, option: 15, arg2_str: 'x', arg2_int: 0 } });
  assert.deepEqual(Object.keys(setName.arg), ['res', 'option', 'arg2_str', 'arg2_int'], "Falco's parameter order");

  // an option Falco has no name for renders as its number; arg2 is signed 64-bit; errors are negative
  const other = info.decode(decode(record(K.PRCTL, -22, { [A.PRCTL.option]: 0x59616d61n, [A.PRCTL.arg2_int]: -1n }, [''])));
  assert.deepEqual(other, {
    arg: { res: -22, option: '1499557217', arg2_str: '', arg2_int: -1 },
    rawarg: { res: -22, option: 1499557217, arg2_str: '', arg2_int: -1 },
  });
  assert.equal(STR.PRCTL.arg2_str, 0);
});

test('the generic decoder reads slot types as the row says (s32 sign-extends, u32 does not)', () => {
  const row = { ...KIND_TABLE.find((r) => r.sym === 'KILL')!, params: undefined };
  const dec = genericDecoder({ ...row, slots: { pid: { at: 0, type: 's32' }, sig: { at: 1, type: 'u32' } } });
  const r = decode(record(K.KILL, 0, { 0: 0xffffffffn, 1: 0xffffffffn }, []));
  assert.deepEqual(dec(r), { arg: { res: 0, pid: -1, sig: 4294967295 }, rawarg: { res: 0, pid: -1, sig: 4294967295 } });
});
