// Credentials kept in the server data dir (shared by every server of a deployment, also usable by
// the CLI while a server runs, since the embedded store may be locked by the server process):
//  - API tokens: DATA_DIR/api-tokens.json holds sha256 hashes with a scope (read | admin);
//    DATA_DIR/admin-token (0600) holds the admin token created on first start.
//  - Enrollment tokens: one file per token under DATA_DIR/enroll/ (sha256 name, expiry inside);
//    redeeming renames the file away atomically, so a token works exactly once.
//  - Revocations: DATA_DIR/revoked/<sensor-id>.
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { VigilError } from '../common/errors.ts';
import { writeSecretFile } from '../common/secret-file.ts';
import { sha256Hex } from './pki.ts';

export type Scope = 'read' | 'admin';

interface ApiTokenEntry {
  hash: string;
  scope: Scope;
  name: string;
  created: string;
}

export const SENSOR_ID_RE = /^sensor-[0-9a-f]{16}$/;

export function parseDuration(s: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d|w)?$/.exec(s.trim());
  if (!m) throw new VigilError('VIGIL_E_USAGE', `invalid duration ${JSON.stringify(s)} (e.g. 30s, 15m, 1h, 7d)`);
  const mult: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 86400_000, w: 7 * 86400_000 };
  return Math.round(Number(m[1]) * mult[m[2] ?? 's']!);
}

export class DataDirAuth {
  private tokens: ApiTokenEntry[] = [];
  private tokensMtime = -1;
  readonly tokensFile: string;
  readonly adminTokenFile: string;
  readonly enrollDir: string;
  readonly revokedDir: string;

  constructor(readonly dataDir: string) {
    this.tokensFile = path.join(dataDir, 'api-tokens.json');
    this.adminTokenFile = path.join(dataDir, 'admin-token');
    this.enrollDir = path.join(dataDir, 'enroll');
    this.revokedDir = path.join(dataDir, 'revoked');
  }

  /** Creates the dirs and, on first start, the admin token. Returns the admin token if readable. */
  init(): string | undefined {
    mkdirSync(this.dataDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.enrollDir, { recursive: true, mode: 0o700 });
    mkdirSync(this.revokedDir, { recursive: true, mode: 0o700 });
    if (!existsSync(this.adminTokenFile)) {
      const tok = this.createApiToken('admin', 'admin (first start)');
      writeSecretFile(this.adminTokenFile, tok + '\n');
    }
    chmodSync(this.adminTokenFile, 0o600);
    return readFileSync(this.adminTokenFile, 'utf8').trim();
  }

  private load(): void {
    let mtime = 0;
    try {
      mtime = statSync(this.tokensFile).mtimeMs;
    } catch {
      this.tokens = [];
      return;
    }
    if (mtime === this.tokensMtime) return;
    this.tokens = JSON.parse(readFileSync(this.tokensFile, 'utf8')) as ApiTokenEntry[];
    this.tokensMtime = mtime;
  }

  createApiToken(scope: Scope, name: string): string {
    this.tokensMtime = -1;
    this.load();
    const tok = `vgl_${scope === 'admin' ? 'a' : 'r'}_${randomBytes(24).toString('base64url')}`;
    this.tokens.push({ hash: sha256Hex(tok), scope, name, created: new Date().toISOString() });
    writeSecretFile(this.tokensFile, JSON.stringify(this.tokens, null, 2));
    this.tokensMtime = -1;
    return tok;
  }

  /** Scope of a bearer token, or undefined when unknown. */
  verifyApiToken(tok: string): { scope: Scope; name: string } | undefined {
    this.load();
    const h = Buffer.from(sha256Hex(tok), 'hex');
    for (const t of this.tokens) {
      if (timingSafeEqual(h, Buffer.from(t.hash, 'hex'))) return { scope: t.scope, name: t.name };
    }
    return undefined;
  }

  /** One-time enrollment token. It embeds the CA fingerprint so a sensor can pin the CA. */
  createEnrollmentToken(ttlMs: number, caFingerprint: string): { token: string; expires: string } {
    mkdirSync(this.enrollDir, { recursive: true, mode: 0o700 });
    const secret = randomBytes(24).toString('base64url');
    const token = `vgle1.${secret}.${caFingerprint}`;
    const expires = new Date(Date.now() + ttlMs).toISOString();
    writeSecretFile(path.join(this.enrollDir, sha256Hex(secret)), JSON.stringify({ expires }));
    return { token, expires };
  }

  /** Redeems an enrollment token (works once); throws VIGIL_E_AUTH when invalid, used or expired. */
  redeemEnrollmentToken(token: string): void {
    const parts = token.split('.');
    if (parts.length !== 3 || parts[0] !== 'vgle1' || !/^[A-Za-z0-9_-]{16,64}$/.test(parts[1]!)) {
      throw new VigilError('VIGIL_E_AUTH', 'malformed enrollment token');
    }
    const file = path.join(this.enrollDir, sha256Hex(parts[1]!));
    const claimed = `${file}.used-${process.pid}-${randomBytes(4).toString('hex')}`;
    try {
      renameSync(file, claimed); // atomic: only one redeemer wins
    } catch {
      throw new VigilError('VIGIL_E_AUTH', 'enrollment token is invalid or was already used');
    }
    let expires = 0;
    try {
      expires = Date.parse((JSON.parse(readFileSync(claimed, 'utf8')) as { expires: string }).expires);
    } finally {
      try {
        unlinkSync(claimed);
      } catch {
        /* gone */
      }
    }
    if (!(expires > Date.now())) throw new VigilError('VIGIL_E_AUTH', 'enrollment token has expired');
  }

  revoke(sensorId: string): void {
    if (!SENSOR_ID_RE.test(sensorId)) throw new VigilError('VIGIL_E_USAGE', `invalid sensor id ${JSON.stringify(sensorId)}`);
    mkdirSync(this.revokedDir, { recursive: true, mode: 0o700 });
    writeFileSync(path.join(this.revokedDir, sensorId), new Date().toISOString() + '\n');
  }

  isRevoked(sensorId: string): boolean {
    return !SENSOR_ID_RE.test(sensorId) || existsSync(path.join(this.revokedDir, sensorId));
  }

  revokedList(): string[] {
    try {
      return readdirSync(this.revokedDir).filter((f) => SENSOR_ID_RE.test(f));
    } catch {
      return [];
    }
  }
}

export function newSensorId(): string {
  return `sensor-${randomBytes(8).toString('hex')}`;
}
