// Policy validation and compilation (no kernel): exact file:line:col errors for the common
// mistakes, whole-file rejection, KubeArmor documents equal to their VigilPolicy twins, what this
// host cannot enforce, the published schema file, and the `vigil policy validate` CLI.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { formatIssue, parsePolicyText, parseCidr, issuesError } from '../../../src/policy/validate.ts';
import { compile } from '../../../src/policy/compile.ts';
import { schemaText, SCHEMA_FILE } from '../../../src/policy/write-schema.ts';
import type { Workload } from '../../../src/policy/model.ts';
import { repoRoot, vigilBin } from '../../helpers/kernel.ts';

const errs = (yaml: string) => parsePolicyText(yaml, 'p.yaml').errors.map(formatIssue);

const good = `apiVersion: vigil.dev/v1alpha1
kind: VigilPolicy
metadata: {name: web-lockdown, namespace: shop}
spec:
  selector:
    matchLabels: {app: web}
  process:
    matchPaths: [{path: /usr/bin/curl, fromSource: [{path: /bin/sh}]}]
    matchDirectories: [{dir: /tmp/, recursive: true}]
  file:
    matchPaths: [{path: /etc/shadow}]
    matchDirectories: [{dir: /etc/ssl/, recursive: true, readOnly: true}]
  network:
    matchEgress: [{cidr: 10.0.0.0/8, ports: [443], protocol: TCP}]
    matchProtocols: [{protocol: raw}]
  capabilities:
    matchCapabilities: [{capability: net_raw}]
  action: Block
  severity: 7
  message: "no"
`;

test('the example policy of the issue validates', () => {
  const r = parsePolicyText(good, 'p.yaml');
  assert.deepEqual(r.errors, []);
  assert.equal(r.policies.length, 1);
  const p = r.policies[0]!;
  assert.equal(p.process.length, 2);
  assert.equal(p.file[1]!.readOnly, true);
  assert.deepEqual(p.egress[0]!.ports, [[443, 443]]);
  assert.deepEqual(
    p.protocols.map((x) => [x.protocol, x.capability ?? null]),
    [
      ['raw', null],
      ['raw', 'net_raw'],
    ],
  );
});

test('bad kind: position of the kind value', () => {
  assert.deepEqual(errs(`apiVersion: vigil.dev/v1alpha1\nkind: VigilPolcy\nmetadata: {name: a}\nspec: {}\n`), [
    'p.yaml:2:7: unknown kind string "VigilPolcy" (expected VigilPolicy, KubeArmorPolicy or KubeArmorHostPolicy)',
  ]);
  assert.deepEqual(errs(`apiVersion: security.kubearmor.com/v1\nkind: VigilPolicy\nmetadata: {name: a}\nspec: {}\n`), [
    'p.yaml:1:13: expected apiVersion \'vigil.dev/v1alpha1\' for kind VigilPolicy, got string "security.kubearmor.com/v1"',
  ]);
});

test('unknown key: position of the key, with the keys allowed there', () => {
  const y = good.replace('    matchPaths: [{path: /etc/shadow}]', '    matchPaths: [{path: /etc/shadow}]\n    matchPath: []');
  assert.deepEqual(errs(y), [
    "p.yaml:12:5: unknown key 'matchPath' (expected one of: matchPaths, matchDirectories, matchPatterns, action, severity, message, tags)",
  ]);
  const y2 = good.replace('{path: /etc/shadow}', '{path: /etc/shadow, readonly: true}');
  assert.deepEqual(errs(y2), [
    "p.yaml:11:38: unknown key 'readonly' (expected one of: path, readOnly, ownerOnly, fromSource, action, severity, message, tags)",
  ]);
});

test('a path that is not absolute', () => {
  const y = good.replace('{path: /etc/shadow}', '{path: etc/shadow}');
  assert.deepEqual(errs(y), ['p.yaml:11:25: expected an absolute path, got string "etc/shadow"']);
  const y2 = good.replace('{dir: /tmp/, recursive: true}', '{dir: tmp, recursive: true}');
  assert.deepEqual(errs(y2), ['p.yaml:9:30: expected an absolute directory path, got string "tmp"']);
  const y3 = good.replace('{path: /etc/shadow}', '{path: /etc/../etc/shadow}');
  assert.deepEqual(errs(y3), ['p.yaml:11:25: expected a normalized absolute path (no //, . or .. segments), got "/etc/../etc/shadow"']);
});

test('a CIDR that does not parse; bad port range', () => {
  const y = good.replace('cidr: 10.0.0.0/8', 'cidr: 10.0.0.300/8');
  assert.deepEqual(errs(y), ['p.yaml:14:26: expected a CIDR like 10.0.0.0/8 or fd00::/8, got "10.0.0.300/8"']);
  const y2 = good.replace('cidr: 10.0.0.0/8', 'cidr: 10.0.0.0/33');
  assert.deepEqual(errs(y2), ['p.yaml:14:26: expected a CIDR like 10.0.0.0/8 or fd00::/8, got "10.0.0.0/33"']);
  const y3 = good.replace('ports: [443]', 'ports: ["500-400"]');
  assert.deepEqual(errs(y3), ['p.yaml:14:46: expected a port range a-b with 1 <= a <= b <= 65535, got "500-400"']);
  assert.equal(parseCidr('10.1.2.3/8')?.cidr, '10.0.0.0/8');
  assert.equal(parseCidr('fd00::1/8')?.cidr, 'fd00::/8');
  assert.equal(parseCidr('::ffff:10.0.0.1')?.cidr, '::ffff:a00:1/128');
  assert.equal(parseCidr('nope'), undefined);
});

test('several documents: one bad document rejects the whole file, errors sorted by position', () => {
  const y = `${good}---\n${good.replace('web-lockdown', 'second').replace('action: Block', 'action: Deny')}---\n${good.replace('web-lockdown', 'third').replace('kind: VigilPolicy', 'kind: Nope')}`;
  const r = parsePolicyText(y, 'multi.yaml');
  assert.deepEqual(r.policies, []);
  assert.deepEqual(r.errors.map(formatIssue), [
    'multi.yaml:39:11: expected Allow|Audit|Block, got string "Deny"',
    'multi.yaml:44:7: unknown kind string "Nope" (expected VigilPolicy, KubeArmorPolicy or KubeArmorHostPolicy)',
  ]);
  const e = issuesError(r.errors);
  assert.equal(e.code, 'VIGIL_E_POLICY');
  assert.deepEqual(e.where, { file: 'multi.yaml', line: 39, col: 11 });
  assert.match(e.format(), /^multi\.yaml:39:11: expected Allow\|Audit\|Block/);
});

test('duplicate names and malformed YAML are errors with positions', () => {
  assert.deepEqual(errs(`${good}---\n${good}`), ['p.yaml:24:18: duplicate policy shop/web-lockdown (first defined at line 1)']);
  const bad = errs('apiVersion: vigil.dev/v1alpha1\nkind: VigilPolicy\nmetadata: {name: a\n');
  assert.equal(bad.length >= 1, true);
  assert.match(bad[0]!, /^p\.yaml:\d+:\d+: malformed YAML/);
});

test('parts that cannot be enforced here are clear errors', () => {
  const cap = good.replace('capability: net_raw', 'capability: sys_admin');
  assert.deepEqual(errs(cap), [
    "p.yaml:17:38: capability 'sys_admin' cannot be enforced on this host: it needs the BPF LSM hook lsm/capable and 'bpf' is not in the active LSM list (only net_raw is enforced, via cgroup/sock_create)",
  ]);
  assert.deepEqual(errs(good.replace('capability: net_raw', 'capability: cap_foo')), [
    'p.yaml:17:38: unknown capability "cap_foo" (expected a Linux capability name such as net_raw or sys_admin)',
  ]);
  assert.deepEqual(errs(good.replace('[{path: /etc/shadow}]', '[{path: /etc/shadow, ownerOnly: true}]')), [
    'p.yaml:11:38: ownerOnly is not enforced by Vigil (fanotify enforcer); remove it',
  ]);
  // matchPatterns: the AppArmor glob subset KubeArmor users write; anything else is named
  const pat = (p: string) => errs(good.replace('    matchPaths: [{path: /etc/shadow}]', `    matchPatterns: [{pattern: ${p}}]`));
  assert.deepEqual(pat('/etc/*'), []);
  assert.deepEqual(pat('"/**/*.sh?"'), []);
  assert.deepEqual(pat('etc/*'), ['p.yaml:11:31: expected an absolute pattern (starting with \'/\'), got "etc/*"']);
  assert.deepEqual(pat('"/etc/[ab]*"'), [
    "p.yaml:11:31: unsupported character \"[\" in pattern \"/etc/[ab]*\": only the wildcards '*' (within a path segment), '**' (across segments) and '?' are supported",
  ]);
  assert.deepEqual(pat('/etc/../x*'), ['p.yaml:11:31: expected a normalized pattern (no //, . or .. segments), got "/etc/../x*"']);
  assert.deepEqual(pat(`/${'a'.repeat(254)}*`), ['p.yaml:11:31: a pattern may be at most 255 bytes long, got 256']);
  assert.deepEqual(pat(`/${'a'.repeat(253)}*`), []);
  assert.deepEqual(errs(good.replace('    matchPaths: [{path: /etc/shadow}]', '    matchPatterns: [{pattern: /etc/*, ownerOnly: true}]')), [
    'p.yaml:11:39: ownerOnly is not enforced by Vigil (fanotify enforcer); remove it',
  ]);
  assert.deepEqual(errs(good.replace('[{protocol: raw}]', '[{protocol: tcp, fromSource: [{path: /bin/nc}]}]')), [
    'p.yaml:15:38: network fromSource cannot be enforced by the cgroup BPF hooks (they do not see the executable); remove it',
  ]);
});

// KubeArmor's published example format (getting-started/security_policy_examples.md style)
const kubearmor = `apiVersion: security.kubearmor.com/v1
kind: KubeArmorPolicy
metadata:
  name: ksp-group-1-proc-path-block
  namespace: multiubuntu
spec:
  severity: 5
  message: "block the sleep command"
  selector:
    matchLabels:
      group: group-1
  process:
    matchPaths:
    - path: /bin/sleep
  file:
    matchDirectories:
    - dir: /credentials/
      recursive: true
      readOnly: true
    matchPaths:
    - path: /secret.txt
      fromSource:
      - path: /bin/cat
  network:
    matchProtocols:
    - protocol: icmp
  capabilities:
    matchCapabilities:
    - capability: net_raw
  action:
    Block
`;
const vigilTwin = `apiVersion: vigil.dev/v1alpha1
kind: VigilPolicy
metadata: {name: ksp-group-1-proc-path-block, namespace: multiubuntu}
spec:
  severity: 5
  message: "block the sleep command"
  selector:
    matchLabels: {group: group-1}
  process:
    matchPaths: [{path: /bin/sleep}]
  file:
    matchDirectories: [{dir: /credentials, recursive: true, readOnly: true}]
    matchPaths: [{path: /secret.txt, fromSource: [{path: /bin/cat}]}]
  network:
    matchProtocols: [{protocol: ICMP}]
  capabilities:
    matchCapabilities: [{capability: CAP_NET_RAW}]
  action: block
`;

const workloads: Workload[] = [
  { id: 'c1', name: 'ubuntu-1', labels: { group: 'group-1' }, namespace: 'multiubuntu', rootPid: 4242, mntns: 4026531999, cgroupId: '777' },
  { id: 'c2', name: 'ubuntu-2', labels: { group: 'group-2' }, namespace: 'multiubuntu', rootPid: 4343, mntns: 4026532000, cgroupId: '778' },
  { id: 'c3', name: 'other-ns', labels: { group: 'group-1' }, namespace: 'default', rootPid: 4444, mntns: 4026532001, cgroupId: '779' },
];

test('a KubeArmorPolicy compiles to the same tables as its VigilPolicy twin', () => {
  const ka = parsePolicyText(kubearmor, 'ka.yaml');
  const vg = parsePolicyText(vigilTwin, 'vg.yaml');
  assert.deepEqual(ka.errors, []);
  assert.deepEqual(vg.errors, []);
  const tk = compile(ka.policies, workloads, { defaultPosture: 'block' });
  const tv = compile(vg.policies, workloads, { defaultPosture: 'block' });
  assert.equal(tk.fanotify, tv.fanotify);
  assert.deepEqual(tk.net, tv.net);
  // only ubuntu-1 is selected (label and namespace)
  assert.deepEqual(
    tk.scopes.map((s) => s.workload),
    ['c1'],
  );
  assert.equal(
    tk.fanotify,
    [
      'fanx 1',
      '# generated by src/policy/compile.ts',
      'policy 0 ksp-group-1-proc-path-block Block 5 block%20the%20sleep%20command',
      'scope 0 /proc/4242/root mntns:4026531999 none none ubuntu-1',
      'rule 0 exec path block rw 0 process.matchPaths[0] /bin/sleep -',
      'rule 0 open path block rw 0 file.matchPaths[0] /secret.txt /bin/cat',
      'rule 0 open rdir block ro 0 file.matchDirectories[0] /credentials/ -',
      'end',
      '',
    ].join('\n'),
  );
  assert.deepEqual(
    tk.net.scopes[0]!.protocols.map((p) => [p.protocol, p.action]),
    [
      ['icmp', 'Block'],
      ['raw', 'Block'],
    ],
  );
});

test('host policies: KubeArmorHostPolicy nodeSelector and VigilPolicy selector.host', () => {
  const host: Workload = { id: 'host', name: 'host', host: true };
  const khp = `apiVersion: security.kubearmor.com/v1
kind: KubeArmorHostPolicy
metadata:
  name: hsp-shadow
spec:
  nodeSelector:
    matchLabels:
      kubernetes.io/hostname: node-1
  file:
    matchPaths:
    - path: /etc/shadow
  action: Audit
`;
  const r = parsePolicyText(khp, 'h.yaml');
  assert.deepEqual(r.errors, []);
  assert.match(
    compile(r.policies, [host, ...workloads], { hostLabels: { 'kubernetes.io/hostname': 'node-1' } }).fanotify,
    /scope 0 \/ host none none host\nrule 0 open path audit rw 0 file.matchPaths\[0\] \/etc\/shadow -/,
  );
  assert.doesNotMatch(compile(r.policies, [host], { hostLabels: { 'kubernetes.io/hostname': 'node-2' } }).fanotify, /scope/);
  const hostAllow = errs(khp.replace('action: Audit', 'action: Allow').replace('h.yaml', 'p.yaml'));
  assert.deepEqual(hostAllow, ['p.yaml:11:7: KubeArmorHostPolicy: an Allow entry needs fromSource (KubeArmor ignores it otherwise; Vigil rejects it)']);
  const vh = parsePolicyText(
    `apiVersion: vigil.dev/v1alpha1\nkind: VigilPolicy\nmetadata: {name: h}\nspec:\n  selector: {host: true}\n  network:\n    matchEgress: [{ports: [25]}]\n`,
    'v.yaml',
  );
  assert.deepEqual(vh.errors, []);
  const t = compile(vh.policies, [host, ...workloads]);
  assert.deepEqual(
    t.net.scopes.map((s) => s.cgroupId),
    ['0'],
  );
});

test('allow-lists set the posture of their kind only; per-namespace override', () => {
  const y = `apiVersion: vigil.dev/v1alpha1\nkind: VigilPolicy\nmetadata: {name: al}\nspec:\n  selector: {matchLabels: {group: group-1}}\n  process:\n    matchPaths: [{path: /bin/app}]\n  action: Allow\n`;
  const r = parsePolicyText(y, 'a.yaml');
  const t = compile(r.policies, workloads, { defaultPosture: 'audit', namespacePosture: { multiubuntu: { file: 'block' } } });
  assert.match(t.fanotify, /scope 0 \/proc\/4242\/root mntns:4026531999 block none ubuntu-1/);
  assert.match(t.fanotify, /scope 1 \/proc\/4444\/root mntns:4026532001 audit none other-ns/);
});

test('compile reports workloads it cannot target, and too many network rules', () => {
  const r = parsePolicyText(good, 'p.yaml');
  const t = compile(r.policies, [{ id: 'x', name: 'web', labels: { app: 'web' }, namespace: 'shop' }]);
  assert.deepEqual(t.warnings, [
    'workload web (x): no root pid known, file/process rules not enforced',
    'workload web (x): no cgroup id known, network rules not enforced',
  ]);
  const many = good.replace('ports: [443]', `ports: [${Array.from({ length: 40 }, (_, i) => i + 1).join(', ')}]`);
  const r2 = parsePolicyText(many, 'p.yaml');
  assert.throws(() => compile(r2.policies, [{ id: 'x', name: 'web', labels: { app: 'web' }, namespace: 'shop', cgroupId: 5 }]), /needs 40 network rules/);
});

test('deploy/crds/vigilpolicy.schema.json is current (regenerate: node --import tsx src/policy/write-schema.ts)', () => {
  assert.equal(readFileSync(SCHEMA_FILE, 'utf8'), schemaText());
});

test('vigil policy validate: exit 0, or exit 1 with file:line:col lines', () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-pv-'));
  const ok = path.join(dir, 'ok.yaml');
  const bad = path.join(dir, 'bad.yaml');
  writeFileSync(ok, good);
  writeFileSync(bad, good.replace('{path: /etc/shadow}', '{path: shadow}'));
  const r1 = spawnSync(vigilBin, ['policy', 'validate', ok], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r1.status, 0, r1.stderr);
  const r2 = spawnSync(vigilBin, ['policy', 'validate', ok, bad], { encoding: 'utf8', cwd: repoRoot });
  assert.equal(r2.status, 1);
  assert.equal(r2.stdout, `${bad}:11:25: expected an absolute path, got string "shadow"\n`);
  void execFileSync;
});
