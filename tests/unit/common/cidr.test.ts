// Unit tests of the one IP/CIDR parser (src/common/cidr.ts) that the rules engine (fd.net and
// friends) and the policy layer (network rules) share: parsing, normalisation, host bits cleared,
// containment for both families, and the inputs each caller must reject.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cidrContains, formatIpv6, ipv4ToInt, ipv6Words, parseCidr } from '../../../src/common/cidr.ts';

test('ipv4ToInt: dotted quads to numbers, anything else -1', () => {
  assert.equal(ipv4ToInt('0.0.0.0'), 0);
  assert.equal(ipv4ToInt('10.1.2.3'), 0x0a010203);
  assert.equal(ipv4ToInt('255.255.255.255'), 0xffffffff);
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '1.2.3.256', '1..2.3', '1.2.3.', 'a.b.c.d', '1.2.3.4/8', '1234.1.1.1']) assert.equal(ipv4ToInt(bad), -1, bad);
});

test('ipv6Words: full, compressed, IPv4 tail, brackets and zone; rejects malformed text', () => {
  assert.deepEqual(ipv6Words('::'), [0, 0, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(ipv6Words('fd00::1'), [0xfd00, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(ipv6Words('1:2:3:4:5:6:7:8'), [1, 2, 3, 4, 5, 6, 7, 8]);
  assert.deepEqual(ipv6Words('::ffff:10.0.0.1'), [0, 0, 0, 0, 0, 0xffff, 0x0a00, 1]);
  assert.deepEqual(ipv6Words('[fe80::1]'), [0xfe80, 0, 0, 0, 0, 0, 0, 1]);
  assert.deepEqual(ipv6Words('fe80::1%eth0'), [0xfe80, 0, 0, 0, 0, 0, 0, 1]);
  for (const bad of ['1.2.3.4', '1::2::3', ':::', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '12345::', 'g::1', '::1.2.3.300'])
    assert.equal(ipv6Words(bad), undefined, bad);
});

test('formatIpv6: lower case, the longest run of two or more zero groups compressed', () => {
  const b = (w: number[]) => Uint8Array.from(w.flatMap((x) => [x >> 8, x & 0xff]));
  assert.equal(formatIpv6(b([0, 0, 0, 0, 0, 0, 0, 0])), '::');
  assert.equal(formatIpv6(b([0xfd00, 0, 0, 0, 0, 0, 0, 0])), 'fd00::');
  assert.equal(formatIpv6(b([1, 0, 2, 0, 0, 0, 3, 4])), '1:0:2::3:4');
  assert.equal(formatIpv6(b([0xabcd, 1, 2, 3, 4, 5, 6, 7])), 'abcd:1:2:3:4:5:6:7');
});

test('parseCidr: IPv4 network normalised with the host bits cleared', () => {
  const c = parseCidr('10.1.2.3/8')!;
  assert.equal(c.cidr, '10.0.0.0/8');
  assert.equal(c.family, 4);
  assert.equal(c.prefix, 8);
  assert.deepEqual([...c.bytes], [10, 0, 0, 0]);
  assert.deepEqual(c.v4, { net: 0x0a000000, mask: 0xff000000 });
  assert.equal(c.v6, undefined);
  assert.equal(parseCidr('192.168.1.7')?.cidr, '192.168.1.7/32');
  assert.equal(parseCidr(' 0.0.0.0/0 ')?.cidr, '0.0.0.0/0');
  assert.deepEqual(parseCidr('1.2.3.4/0')?.v4, { net: 0, mask: 0 });
  assert.equal(parseCidr('172.16.5.4/12')?.cidr, '172.16.0.0/12');
});

test('parseCidr: IPv6 network normalised, bytes and words masked alike', () => {
  const c = parseCidr('fd00::1/8')!;
  assert.equal(c.cidr, 'fd00::/8');
  assert.equal(c.family, 6);
  assert.equal(c.bytes.length, 16);
  assert.equal(c.bytes[0], 0xfd);
  assert.equal(c.bytes[15], 0);
  assert.deepEqual(c.v6, { words: [0xfd00, 0, 0, 0, 0, 0, 0, 0], bits: 8 });
  assert.equal(parseCidr('fe80::1:2/10')?.cidr, 'fe80::/10');
  assert.equal(parseCidr('::ffff:10.0.0.1')?.cidr, '::ffff:a00:1/128');
  assert.equal(parseCidr('2001:db8:0:0:1:0:0:1/128')?.cidr, '2001:db8::1:0:0:1/128');
  assert.equal(parseCidr('::/0')?.cidr, '::/0');
});

test('parseCidr: what does not parse', () => {
  for (const bad of [
    'nope',
    '',
    '/8',
    '10.0.0.300/8',
    '10.0.0.0/33',
    'fd00::/129',
    '10.0.0.0/',
    '10.0.0.0/x',
    '10.0.0.0/-1',
    '10.0.0.0/8/8',
    '1::2::3/64',
    '10.0.0.0/1000',
    '010.0.0.0/8',
    '10.00.0.0/16',
  ]) {
    assert.equal(parseCidr(bad), undefined, bad);
  }
});

test('cidrContains: both families, boundaries, mismatched family and non-addresses', () => {
  const n8 = parseCidr('10.0.0.0/8')!;
  assert.equal(cidrContains(n8, '10.255.255.255'), true);
  assert.equal(cidrContains(n8, '10.0.0.0'), true);
  assert.equal(cidrContains(n8, '11.0.0.0'), false);
  assert.equal(cidrContains(n8, 'fd00::1'), false);
  assert.equal(cidrContains(n8, 'not an ip'), false);
  assert.equal(cidrContains(parseCidr('0.0.0.0/0')!, '203.0.113.9'), true);
  const ll = parseCidr('fe80::/10')!;
  assert.equal(cidrContains(ll, 'fe80::1'), true);
  assert.equal(cidrContains(ll, 'febf:ffff::1'), true);
  assert.equal(cidrContains(ll, 'fec0::1'), false);
  assert.equal(cidrContains(ll, '10.0.0.1'), false);
  const host = parseCidr('2001:db8::1')!;
  assert.equal(cidrContains(host, '2001:db8::1'), true);
  assert.equal(cidrContains(host, '2001:db8::2'), false);
});
