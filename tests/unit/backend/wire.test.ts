// The wire protocol's codecs (src/wire/protocol.ts), both directions, without a network: what one
// side encodes the other side parses to the same frame, and bad frames get the right close code.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  CloseCode,
  PROTO_VERSION,
  ProtocolError,
  encodeAck,
  encodeBatch,
  encodeHello,
  encodeItem,
  encodeStats,
  encodeWelcome,
  parseClientFrame,
  parseServerFrame,
} from '../../../src/wire/protocol.ts';

const drops = { kernel: 3, user: 2, spool: 1 };

test('sensor frames: encoded by the uplink, parsed by the server', () => {
  assert.deepEqual(
    parseClientFrame(encodeHello({ proto: PROTO_VERSION, sensor: 'sensor-0123456789abcdef', hostname: 'node-a', version: '0.1.0', drops }), 10),
    {
      type: 'hello',
      proto: PROTO_VERSION,
      sensor: 'sensor-0123456789abcdef',
      hostname: 'node-a',
      version: '0.1.0',
      drops,
    },
  );
  assert.deepEqual(parseClientFrame(encodeStats(drops), 10), { type: 'stats', drops });
  const items = [encodeItem(7, 'e', '{"evt":{"num":1,"time":"1700000000123456789"}}'), encodeItem(8, 'a', '{"rule":"r"}')].join(',');
  assert.deepEqual(parseClientFrame(encodeBatch('sensor-0123456789abcdef', 7, 8, items), 10), {
    type: 'batch',
    sensor: 'sensor-0123456789abcdef',
    first: 7,
    last: 8,
    items: [
      [7, 'e', { evt: { num: 1, time: '1700000000123456789' } }],
      [8, 'a', { rule: 'r' }],
    ],
  });
});

test('server frames: encoded by the server, parsed by the uplink', () => {
  const w = { proto: PROTO_VERSION, server: 'host:7443:1', maxSeq: 41, maxBatchItems: 5000, maxFrameBytes: 8 << 20 };
  assert.deepEqual(parseServerFrame(encodeWelcome(w)), { type: 'welcome', ...w });
  assert.deepEqual(parseServerFrame(encodeAck(99)), { type: 'ack', last: 99 });
  assert.equal(parseServerFrame('{"type":"from-the-future"}'), undefined, 'unknown frame types are ignored');
});

function closeCode(f: () => unknown): number {
  try {
    f();
  } catch (e) {
    assert.ok(e instanceof ProtocolError, String(e));
    return e.closeCode;
  }
  assert.fail('no error');
}

test('bad frames: the close code of each violation', () => {
  assert.equal(
    closeCode(() => parseClientFrame('{nope', 10)),
    CloseCode.MALFORMED,
  );
  assert.equal(
    closeCode(() => parseClientFrame(encodeHello({ proto: 2, sensor: 's', hostname: '', version: '', drops }), 10)),
    CloseCode.UNSUPPORTED_VERSION,
  );
  assert.equal(
    closeCode(() => parseClientFrame(encodeBatch('s', 2, 1, [encodeItem(2, 'e', '{}'), encodeItem(1, 'e', '{}')].join(',')), 10)),
    CloseCode.MALFORMED,
  );
  assert.equal(
    closeCode(() => parseClientFrame(encodeBatch('s', 1, 3, [1, 2, 3].map((i) => encodeItem(i, 'e', '{}')).join(',')), 2)),
    CloseCode.BATCH_TOO_LARGE,
  );
  assert.equal(
    closeCode(() => parseServerFrame('[]')),
    CloseCode.MALFORMED,
  );
  assert.equal(
    closeCode(() => parseServerFrame('{"type":"ack","last":-1}')),
    CloseCode.MALFORMED,
  );
});
