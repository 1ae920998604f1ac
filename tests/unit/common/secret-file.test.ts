// Unit tests of secret-file writing (src/common/secret-file.ts): mode 0600 whatever the umask and
// whatever mode a previous file had, the directory created 0700, no temporary file left behind,
// replacement by rename (a reader holding the old file keeps the old content), and a VigilError
// (VIGIL_E_IO, with the path) when the file cannot be written.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeSecretFile } from '../../../src/common/secret-file.ts';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-secret-'));
test.after(() => rmSync(tmp, { recursive: true, force: true }));

test('new file: content, mode 0600 under a permissive umask, directory 0700, no temporary left', () => {
  const old = process.umask(0o000);
  try {
    const f = path.join(tmp, 'new', 'key.pem');
    writeSecretFile(f, 'SECRET\n');
    assert.equal(readFileSync(f, 'utf8'), 'SECRET\n');
    assert.equal(statSync(f).mode & 0o777, 0o600);
    assert.equal(statSync(path.dirname(f)).mode & 0o777, 0o700);
    assert.deepEqual(readdirSync(path.dirname(f)), ['key.pem']);
  } finally {
    process.umask(old);
  }
});

test('existing world-readable file: replaced by a 0600 file through rename', () => {
  const f = path.join(tmp, 'token');
  writeFileSync(f, 'old');
  chmodSync(f, 0o644);
  const fd = openSync(f, 'r');
  const inodeBefore = statSync(f).ino;
  writeSecretFile(f, Buffer.from('new'));
  assert.equal(readFileSync(f, 'utf8'), 'new');
  assert.equal(statSync(f).mode & 0o777, 0o600);
  assert.notEqual(statSync(f).ino, inodeBefore);
  const b = Buffer.alloc(3);
  readSync(fd, b, 0, 3, 0);
  closeSync(fd);
  assert.equal(b.toString(), 'old');
  assert.deepEqual(readdirSync(tmp).sort(), ['new', 'token']);
});

test('failure (the directory is a file): VIGIL_E_IO naming the file, nothing left behind', () => {
  const f = path.join(tmp, 'token', 'below-a-file');
  assert.throws(
    () => writeSecretFile(f, 'x'),
    (e: Error & { code?: string; where?: unknown }) => e.code === 'VIGIL_E_IO' && e.where === f && e.message === `cannot write ${f}: EEXIST`,
  );
  assert.deepEqual(readdirSync(tmp).sort(), ['new', 'token']);
});
