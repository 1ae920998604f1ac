// Secret-file writing: private keys, API tokens, enrollment tokens and their state files are
// written with mode 0600 and atomically (a temporary file in the same directory, created
// exclusively with mode 0600, flushed, then renamed over the target). A reader never sees a half
// written file, the secret is never readable by others even for a moment, and a target that existed
// with a wider mode is replaced by a 0600 file. Used by the server (CA key, server key, tokens) and
// the sensor uplink (enrolled client key).
import { closeSync, fsyncSync, mkdirSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import { VigilError } from './errors.ts';

export const SECRET_FILE_MODE = 0o600;
export const SECRET_DIR_MODE = 0o700;

/** Writes `data` to `file` atomically with mode 0600 (the directory is created 0700 when missing). */
export function writeSecretFile(file: string, data: string | Uint8Array): void {
  const dir = path.dirname(file);
  const tmp = path.join(dir, `.${path.basename(file)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    mkdirSync(dir, { recursive: true, mode: SECRET_DIR_MODE });
    fd = openSync(tmp, 'wx', SECRET_FILE_MODE);
    const buf = typeof data === 'string' ? Buffer.from(data) : data;
    let off = 0;
    while (off < buf.length) off += writeSync(fd, buf, off, buf.length - off);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, file);
  } catch (e) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* not created, or already renamed */
    }
    throw new VigilError('VIGIL_E_IO', `cannot write ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`, { where: file, cause: e });
  }
}
