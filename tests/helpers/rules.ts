// Test helpers for the rules engine tests: paths of the shared Falco rule files, a base event in
// the docs/event-format.md shape, and one-condition evaluation through the real loader.
import path from 'node:path';
import { sharedDir } from './kernel.ts';
import { RuleLoader } from '../../src/rules/index.ts';
import type { Ev, LoadResult } from '../../src/rules/index.ts';

export const STABLE = path.join(sharedDir, 'falco', 'falco_rules.yaml');
export const INCUBATING = path.join(sharedDir, 'falco', 'falco-incubating_rules.yaml');

type Tree = { [k: string]: unknown };

function merge(a: Tree, b: Tree): Tree {
  const out: Tree = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const cur = out[k];
    if (v && typeof v === 'object' && !Array.isArray(v) && cur && typeof cur === 'object' && !Array.isArray(cur)) out[k] = merge(cur as Tree, v as Tree);
    else if (v === undefined) delete out[k];
    else out[k] = v;
  }
  return out;
}

/** A process event on the host; `over` is deep-merged (undefined deletes a key). */
export function event(over: Tree = {}): Ev {
  const base: Tree = {
    evt: { num: 1, time: '1700000000123456789', type: 'execve', category: 'process', dir: '<', cpu: 1, res: 0, rawres: 0, failed: false, arg: {}, rawarg: {} },
    proc: {
      pid: 4242,
      tid: 4242,
      ppid: 4000,
      vpid: 4242,
      name: 'bash',
      exe: 'bash',
      exepath: '/usr/bin/bash',
      args: '',
      cmdline: 'bash',
      cwd: '/root/',
      tty: 34816,
      sid: 4000,
      sname: 'sshd',
      vpgid: 4242,
      pgid: 4242,
      pname: 'sshd',
      pexepath: '/usr/sbin/sshd',
      pcmdline: 'sshd -D',
      aname: ['sshd', 'systemd'],
      aexepath: ['/usr/sbin/sshd', '/usr/lib/systemd/systemd'],
      apid: [4000, 1],
      start_ts: '1700000000000000000',
      is_exe_from_memfd: false,
      is_exe_upper_layer: false,
      is_exe_writable: false,
    },
    thread: { tid: 4242, cap_effective: 'CAP_CHOWN CAP_KILL', cap_permitted: 'CAP_CHOWN CAP_KILL', cap_inheritable: '' },
    user: { uid: 0, name: 'root', loginuid: 1000, loginname: 'alice' },
    group: { gid: 0, name: 'root' },
    container: { id: 'host' },
  };
  return merge(base, over) as Ev;
}

/** A container event: same as event() plus container/k8s metadata. */
export function containerEvent(over: Tree = {}): Ev {
  return event(
    merge(
      {
        container: {
          id: 'abcdef123456',
          full_id: 'abcdef1234567890',
          name: 'web',
          image: 'nginx:1.25',
          'image.repository': 'nginx',
          'image.tag': '1.25',
          type: 'containerd',
          privileged: false,
        },
        k8s: { ns: { name: 'default' }, pod: { name: 'web-1', uid: 'u-1' } },
        proc: { tty: 0 },
      },
      over,
    ),
  );
}

export function loadRules(yaml: string, opts: ConstructorParameters<typeof RuleLoader>[0] = {}): LoadResult {
  return new RuleLoader(opts).loadString(yaml, 'test.yaml');
}

/** YAML text of one rule with the given condition (plus extra items before it). */
export function ruleYaml(cond: string, extra = ''): string {
  return `${extra}
- rule: t
  desc: test rule
  condition: ${JSON.stringify(cond)}
  output: "out %proc.name"
  priority: WARNING
`;
}

/** Compiles `cond` in a one-rule file and evaluates it against `ev`. Throws on load errors. */
export function check(cond: string, ev: Ev, extra = ''): boolean {
  const r = loadRules(ruleYaml(cond, extra));
  if (!r.ok) throw new Error(r.errors.map((e) => `${e.line}:${e.col}: ${e.message}`).join('\n'));
  return r.ruleset.matchFirst(ev) !== undefined;
}

/** Loads `cond` and returns the first error (or undefined). */
export function loadError(cond: string, extra = ''): { message: string; line: number; col: number } | undefined {
  const r = loadRules(ruleYaml(cond, extra));
  return r.errors[0];
}
