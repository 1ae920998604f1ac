// The glob matcher of the fanotify enforcer (native/fanotify_enforcer.c, KubeArmor matchPatterns):
// compiles a probe that includes the enforcer's C source and asks glob_match() about pattern/path
// pairs, so the semantics tested are the C code's, not a TypeScript copy of it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { repoRoot } from '../../helpers/kernel.ts';

function globProbe(pairs: Array<[string, string]>): boolean[] {
  const dir = mkdtempSync(path.join(tmpdir(), 'vigil-glob-'));
  try {
    writeFileSync(
      path.join(dir, 'probe.c'),
      `#include "${path.join(repoRoot, 'native', 'fanotify_enforcer.c')}"
int main(int argc, char **argv) {
  uint16_t tk[FX_GLOB_MAX];
  for (int i = 1; i + 1 < argc; i += 2) {
    int n = glob_tokens(argv[i], tk);
    printf("%d\\n", glob_match(tk, n, argv[i + 1], strlen(argv[i + 1])) ? 1 : 0);
  }
  return 0;
}
`,
    );
    execFileSync('cc', ['-O2', '-o', path.join(dir, 'probe'), path.join(dir, 'probe.c'), '-lpthread']);
    const out = execFileSync(path.join(dir, 'probe'), pairs.flat(), { encoding: 'utf8' });
    return out
      .trim()
      .split('\n')
      .map((l) => l === '1');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test('glob_match: * within a segment, ** across segments, ? one character other than /', () => {
  const cases: Array<[string, string, boolean]> = [
    ['/etc/*', '/etc/passwd', true],
    ['/etc/*', '/etc/ssl/cert.pem', false],
    ['/etc/*', '/etc/', true],
    ['/etc/**', '/etc/ssl/cert.pem', true],
    ['/**/*.sh', '/opt/app/run.sh', true],
    ['/**/*.sh', '/run.sh', false], // '/**/' needs two slashes
    ['/**.sh', '/run.sh', true],
    ['/root/*_history', '/root/.bash_history', true],
    ['/home/*/*_history', '/home/alice/.zsh_history', true],
    ['/home/*/*_history', '/home/alice/sub/.zsh_history', false],
    ['/bin/l?', '/bin/ls', true],
    ['/bin/l?', '/bin/l/', false],
    ['/bin/l?', '/bin/lsx', false],
    ['/usr/bin/python3*', '/usr/bin/python3.11', true],
    ['/data/**/b.k?y', '/data/sub/deeper/b.key', true],
    ['/data/**/b.k?y', '/data/b.key', false],
    ['/exact/path', '/exact/path', true],
    ['/exact/path', '/exact/pat', false],
    ['/exact/path', '/exact/paths', false],
    ['/a/***/z', '/a/b/c/z', true], // a run of more than two stars is '**'
  ];
  const got = globProbe(cases.map(([p, s]) => [p, s]));
  cases.forEach(([p, s, want], i) => {
    assert.equal(got[i], want, `${p} against ${s}`);
  });
});

test('glob_match: a pathological pattern is linear, not exponential', () => {
  const pattern = `/${'**a'.repeat(40)}b`;
  const subject = `/${'a'.repeat(4000)}`;
  const t0 = process.hrtime.bigint();
  assert.deepEqual(globProbe([[pattern, subject]]), [false]);
  const ms = Number(process.hrtime.bigint() - t0) / 1e6;
  assert.ok(ms < 5000, `took ${ms} ms (compile included)`);
});
