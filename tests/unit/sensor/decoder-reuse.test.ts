// The sensor's decoder decodes every event into one reused RawEvent (FrameDecoder `reuse`): the
// enricher must give exactly the events it gives from a fresh record per event, over the recorded
// frames cut into every chunking, and the reused record must really be the same object each time
// (else the option saves nothing).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FrameDecoder } from '../../../src/sensor/decoder.ts';
import type { RawEvent } from '../../../src/sensor/kinds.ts';
import { eventToJson } from '../../../src/sensor/output.ts';
import { decodeAll, hostFreeCore, recorded } from '../../helpers/frames.ts';

function eventsWith(reuse: boolean, bytes: Buffer, chunk: number): { json: string[]; raws: Set<RawEvent>; snap: string[] } {
  const core = hostFreeCore();
  const json: string[] = [];
  const raws = new Set<RawEvent>();
  const snap: string[] = [];
  const d = new FrameDecoder(
    {
      event: (r) => {
        raws.add(r);
        snap.push(JSON.stringify(r, (_k, v) => (typeof v === 'bigint' ? `${v}n` : Buffer.isBuffer(v) ? v.toString('hex') : v)));
        const ev = core.enricher.build(r);
        if (ev) json.push(eventToJson(ev));
      },
    },
    { reuse },
  );
  for (let i = 0; i < bytes.length; i += chunk) d.push(bytes.subarray(i, i + chunk));
  return { json, raws, snap };
}

test('a reused RawEvent decodes and enriches exactly like a fresh one per event', () => {
  const { bytes } = recorded();
  const n = decodeAll(bytes).length;
  assert.ok(n > 40);
  const fresh = eventsWith(false, bytes, bytes.length);
  assert.equal(fresh.raws.size, n);
  for (const chunk of [bytes.length, 4096, 333, 64]) {
    const reused = eventsWith(true, bytes, chunk);
    assert.equal(reused.raws.size, 1, 'one record for every event');
    assert.deepEqual(reused.snap, fresh.snap, `records, chunk ${chunk}`);
    assert.deepEqual(reused.json, fresh.json, `events, chunk ${chunk}`);
  }
});
