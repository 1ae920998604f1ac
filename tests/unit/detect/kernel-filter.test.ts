// In-kernel filtering derived from the rules, without the kernel: the derivation for the stable
// Falco rules, the path-filter map values, per-type implication and the user-space mirror admits().
// The live equivalence (same alerts with and without the filter, in the real kernel) is
// tests/kernel/detect/kernel-filter.test.ts.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { sharedDir } from '../../helpers/kernel.ts';
import { loadRules, planForRules } from '../../../src/detect/live.ts';
import { deriveKernelFilter, admits, pathUndecidable, implied } from '../../../src/detect/kernel-filter.ts';
import { pfCfgValue } from '../../../src/kernel/encode.ts';
import { PlanBuilder } from '../../../src/sensor/hooks.ts';
import { KC, PF, PF_CFG } from '../../../src/abi/layout.ts';
import { parseCondition, stringSource } from '../../../src/rules/parser.ts';

const stable = path.join(sharedDir, 'falco', 'falco_rules.yaml');

test('derivation for the stable rules: exact per-type filters', () => {
  const { ruleset } = loadRules([stable]);
  const f = deriveKernelFilter(ruleset);
  const open = f.get('openat')!;
  assert.equal(open.flags, KC.PREFIX_FILTER, 'reads and failed opens are needed (Directory traversal includes open_file_failed)');
  assert.deepEqual(open.prefixes, [
    '/dev/log',
    '/etc/pam.conf',
    '/etc/pam.d',
    '/etc/security/pwquality.conf',
    '/etc/shadow',
    '/etc/sudoers',
    '/etc/sudoers.d',
    '/var/log',
  ]);
  assert.deepEqual(open.suffixes, [
    '/access_log',
    '/auth.log',
    '/cron',
    '/dpkg.log',
    '/kern.log',
    '/last.log',
    '/mysql.log',
    '/mysqld.log',
    '/secure',
    '/syslog',
    '/user.log',
    '/yum.log',
    'release_agent',
  ]);
  assert.deepEqual(f.get('open'), open);
  assert.equal(f.get('socket')!.flags, KC.ONLY_CONTAINERS);
  assert.equal(f.has('execve'), false, 'process events are never filtered');
  // connect: "Disallowed SSH Connection Non Standard Port" needs one of its ports, "Contact K8S API
  // Server From Container" a container
  const conn = f.get('connect')!;
  assert.equal(conn.flags, KC.PORT_FILTER | KC.PORT_OR_CONTAINER);
  assert.deepEqual(conn.ports, [53, 80, 88, 443, 4444, 8080, 8443]);
  // outbound admits sendto/sendmsg only for non-TCP, and the only rule using it needs TCP
  for (const t of ['sendto', 'sendmsg']) {
    assert.equal(f.get(t)!.skip, true, t);
    assert.match(f.get(t)!.why[0]!, /Disallowed SSH Connection Non Standard Port/);
  }
  const plan = new PlanBuilder();
  planForRules(ruleset, plan);
  const hooks = [...plan.build().hooks.keys()];
  assert.ok(hooks.includes('syscall:connect'));
  assert.ok(!hooks.includes('syscall:sendto') && !hooks.includes('syscall:sendmsg'), hooks.join(' '));
});

test('path filter configuration: exact head and tail pre-checks, as long as the patterns allow', () => {
  const { ruleset } = loadRules([stable]);
  const open = deriveKernelFilter(ruleset).get('openat')!;
  const cfg = (prefixes: string[], suffixes: string[]) => {
    const v = pfCfgValue(prefixes, suffixes);
    assert.equal(v.length, PF_CFG.size);
    // each head/tail sits in the first headlen/taillen bytes of an 8-byte slot, the rest zero
    const words = (at: number, n: number, len: number) =>
      Array.from({ length: n }, (_, i) => {
        const slot = v.subarray(at + i * 8, at + i * 8 + 8);
        assert.ok(
          slot.subarray(len).every((b) => b === 0),
          'zero padded',
        );
        return slot.subarray(0, len).toString('latin1');
      });
    return {
      flags: v[PF_CFG.flags],
      heads: words(PF_CFG.heads, v[PF_CFG.nheads]!, v[PF_CFG.headlen]!),
      tails: words(PF_CFG.tails, v[PF_CFG.ntails]!, v[PF_CFG.taillen]!),
      lens: [...v.subarray(PF_CFG.lens, PF_CFG.lens + v[PF_CFG.nlens]!)],
    };
  };
  // the stable rules: 8-byte heads (the shortest prefix, /dev/log, is 8 bytes), 5-byte tails (/cron)
  assert.deepEqual(cfg(open.prefixes, open.suffixes), {
    flags: PF.HEADS | PF.TAILS,
    heads: ['/dev/log', '/etc/pam', '/etc/sec', '/etc/sha', '/etc/sud', '/var/log'],
    tails: ['s_log', 'h.log', '/cron', 'g.log', 'n.log', 't.log', 'l.log', 'd.log', 'ecure', 'yslog', 'r.log', 'm.log', 'agent'],
    lens: [5, 7, 8, 9, 10, 11, 13],
  });
  // never longer than the shortest pattern
  assert.deepEqual(cfg(['/et', '/var/log'], ['log', '/syslog']), { flags: PF.HEADS | PF.TAILS, heads: ['/et', '/va'], tails: ['log'], lens: [3, 7] });
  // more distinct heads than fit at 8, 5 and 4 bytes: shorter heads, which fit
  const many = Array.from({ length: PF.NHEADS + 1 }, (_, i) => `/d${String(i).padStart(2, '0')}/`);
  assert.deepEqual(cfg(many, []).heads, ['/d0', '/d1']);
  assert.equal(cfg(many.slice(0, PF.NHEADS), []).heads.length, PF.NHEADS);
  // an empty prefix admits every path: no head pre-check; no prefixes at all: no path starts with one
  assert.equal(cfg(['', '/x'], [])!.flags, PF.TAILS);
  assert.deepEqual(cfg([], ['/syslog']), { flags: PF.HEADS | PF.TAILS, heads: [], tails: ['/syslog'], lens: [7] });
  // more than NLENS suffix lengths: refused
  assert.throws(
    () =>
      pfCfgValue(
        [],
        Array.from({ length: PF.NLENS + 1 }, (_, i) => `/${'x'.repeat(i + 4)}`),
      ),
    /9 distinct suffix lengths \(max 8\)/,
  );
});

test('a path filter the kernel cannot hold is not set (the type goes unfiltered)', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-kf-rules-'));
  try {
    const filterFor = (suffixes: string[]) => {
      const f = path.join(dir, `r${suffixes.length}.yaml`);
      const cond = suffixes.map((x) => `fd.name endswith ${x}`).join(' or ');
      writeFileSync(f, `- rule: suffixes\n  desc: d\n  condition: evt.type = openat and (${cond})\n  output: o %fd.name\n  priority: WARNING\n`);
      return deriveKernelFilter(loadRules([f]).ruleset).get('openat');
    };
    const eight = Array.from({ length: PF.NLENS }, (_, i) => `/${'s'.repeat(i + 3)}`);
    assert.equal(filterFor(eight)?.flags, KC.PREFIX_FILTER);
    // one more distinct suffix length than the kernel tries: no path filter (the sensor would refuse it)
    assert.equal(filterFor([...eight, `/${'s'.repeat(PF.NLENS + 3)}`]), undefined);
    assert.throws(() => pfCfgValue([], [...eight, `/${'s'.repeat(PF.NLENS + 3)}`]), /9 distinct suffix lengths/);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('per-type implication: other event types, l4proto contradictions, ports', () => {
  const src = (t: string) => parseCondition(stringSource(t, 'x', 1, 1));
  const c = '(evt.type = connect or (evt.type in (sendto, sendmsg) and fd.l4proto != tcp)) and fd.l4proto = tcp and fd.sport in (22, 443)';
  assert.equal(implied(src(c), 'sendto').never, true);
  assert.equal(implied(src(c), 'connect').never, undefined);
  assert.deepEqual([...implied(src(c), 'connect').ports!].sort(), [22, 443]);
  assert.equal(implied(src('evt.type != connect and fd.sport = 22'), 'connect').never, true);
  assert.equal(implied(src('fd.sport = 22 or container.id != host'), 'connect').ports, undefined, 'an OR keeps ports only when every branch has them');
  assert.equal(implied(src('fd.sport = 22'), 'openat').ports, undefined, 'ports only for kinds whose destination the kernel reads');
  assert.equal(implied(src('not evt.type = connect'), 'connect').never, undefined, 'a NOT implies nothing');
  const kf = { flags: KC.PORT_FILTER | KC.PORT_OR_CONTAINER, prefixes: [], suffixes: [], ports: [22], why: [] };
  const ev = (addr: string, container = 'host') => ({ evt: { res: 0, arg: { addr } }, container: { id: container } });
  assert.equal(admits(kf, ev('10.0.0.1:22')), true);
  assert.equal(admits(kf, ev('::1:22')), true);
  assert.equal(admits(kf, ev('10.0.0.1:2222')), false);
  assert.equal(admits(kf, ev('/run/x.sock')), false, 'no port: only the container clause');
  assert.equal(admits(kf, ev('10.0.0.1:2222', '0123456789ab')), true);
  assert.equal(admits({ ...kf, flags: KC.PORT_FILTER }, ev('10.0.0.1:2222', '0123456789ab')), false);
});

test('implication is conservative: or keeps only what every branch implies, not implies nothing', () => {
  const src = (t: string) => parseCondition(stringSource(t, 'x', 1, 1));
  assert.deepEqual(implied(src('fd.name startswith /etc and evt.rawres >= 0'), 'openat').success, true);
  assert.equal(implied(src('fd.name startswith /etc or evt.rawres >= 0'), 'openat').path, undefined);
  assert.equal(implied(src('fd.name startswith /etc or evt.rawres >= 0'), 'openat').success, undefined);
  assert.equal(implied(src('not fd.name startswith /etc'), 'openat').path, undefined);
  assert.deepEqual([...implied(src('fd.name startswith /etc or fd.filename in (a, b)'), 'openat').path!.suffixes].sort(), ['/a', '/b']);
  assert.deepEqual([...implied(src('fd.directory in (/var/log/)'), 'openat').path!.prefixes], ['/var/log']);
  assert.deepEqual([...implied(src("fd.name glob '/home/*/.ssh/*'"), 'openat').path!.prefixes], ['/home/']);
});

test('paths the kernel cannot decide always pass', () => {
  for (const p of ['rel/x', '../etc/shadow', '/a//b', '/a/./b', '/a/../etc/shadow', '/x/.hidden', '/a..b', '/' + 'x'.repeat(300)])
    assert.equal(pathUndecidable(p), true, p);
  for (const p of ['/etc/shadow', '/usr/lib/x.so', '/var/log/syslog']) assert.equal(pathUndecidable(p), false, p);
  const kf = { flags: KC.PREFIX_FILTER, prefixes: ['/etc/shadow'], suffixes: ['/syslog'], ports: [], why: [] };
  const ev = (raw: string) => ({ evt: { res: 3, rawarg: { flags: 0 } }, container: { id: 'host' }, fd: { nameraw: raw } });
  assert.equal(admits(kf, ev('/etc/shadow')), true);
  assert.equal(admits(kf, ev('/etc/shadow-')), true, 'prefixes are a superset');
  assert.equal(admits(kf, ev('/var/log/syslog')), true);
  assert.equal(admits(kf, ev('/usr/lib/libc.so.6')), false);
  assert.equal(admits(kf, ev('etc/shadow')), true);
});
