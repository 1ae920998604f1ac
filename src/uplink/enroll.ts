// Sensor enrollment and credentials: creates the sensor key and CSR, pins the server CA with the
// fingerprint carried in the one-time token, exchanges token + CSR for a client certificate
// (POST /api/v1/enroll) and keeps everything in SENSOR_DIR (key 0600). Later starts reuse it.
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import forge from 'node-forge';
import { VigilError } from '../common/errors.ts';
import { writeSecretFile } from '../common/secret-file.ts';

export interface SensorCredentials {
  sensorId: string;
  server: string;
  certPem: string;
  keyPem: string;
  caPem: string;
}

const FILES = { meta: 'sensor.json', key: 'sensor-key.pem', cert: 'sensor.pem', ca: 'ca.pem' };

export function loadCredentials(dir: string): SensorCredentials | undefined {
  const meta = path.join(dir, FILES.meta);
  if (!existsSync(meta)) return undefined;
  const m = JSON.parse(readFileSync(meta, 'utf8')) as { sensor_id: string; server: string };
  return {
    sensorId: m.sensor_id,
    server: m.server,
    keyPem: readFileSync(path.join(dir, FILES.key), 'utf8'),
    certPem: readFileSync(path.join(dir, FILES.cert), 'utf8'),
    caPem: readFileSync(path.join(dir, FILES.ca), 'utf8'),
  };
}

function saveCredentials(dir: string, c: SensorCredentials): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const key = path.join(dir, FILES.key);
  writeSecretFile(key, c.keyPem);
  writeFileSync(path.join(dir, FILES.cert), c.certPem);
  writeFileSync(path.join(dir, FILES.ca), c.caPem);
  writeFileSync(path.join(dir, FILES.meta), JSON.stringify({ sensor_id: c.sensorId, server: c.server }, null, 2));
}

export function createKeyAndCsr(cn: string): { keyPem: string; csrPem: string } {
  const keyPem = generateKeyPairSync('rsa', { modulusLength: 2048 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const key = forge.pki.privateKeyFromPem(keyPem) as forge.pki.rsa.PrivateKey;
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = forge.pki.setRsaPublicKey(key.n, key.e);
  csr.setSubject([{ name: 'commonName', value: cn.slice(0, 64) || 'vigil-sensor' }]);
  csr.sign(key, forge.md.sha256.create());
  return { keyPem, csrPem: forge.pki.certificationRequestToPem(csr) };
}

export function fingerprint(pem: string): string {
  return new X509Certificate(pem).fingerprint256.replace(/:/g, '').toLowerCase();
}

export interface HttpsResult {
  status: number;
  body: string;
}

/** Minimal HTTPS request with an explicit trust anchor (or none, for fetching the CA to pin). */
export function httpsRequest(
  url: string,
  o: { method?: string; body?: unknown; ca?: string; insecure?: boolean; headers?: Record<string, string>; cert?: string; key?: string; timeoutMs?: number },
): Promise<HttpsResult> {
  return new Promise((resolve, reject) => {
    const data = o.body === undefined ? undefined : JSON.stringify(o.body);
    const req = https.request(
      url,
      {
        method: o.method ?? 'GET',
        ca: o.ca,
        cert: o.cert,
        key: o.key,
        rejectUnauthorized: !o.insecure,
        headers: { ...(data ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(data)) } : {}), ...o.headers },
        timeout: o.timeoutMs ?? 15_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`request to ${url} timed out`)));
    req.on('error', (e) => reject(new VigilError('VIGIL_E_NETWORK', e.message, { where: url, cause: e })));
    if (data) req.write(data);
    req.end();
  });
}

/** Enrolls with a one-time token; stores and returns the credentials. */
export async function enroll(o: { server: string; token: string; dir: string; hostname?: string; caPem?: string }): Promise<SensorCredentials> {
  const parts = o.token.trim().split('.');
  if (parts.length !== 3 || parts[0] !== 'vgle1') throw new VigilError('VIGIL_E_AUTH', 'malformed enrollment token');
  const base = o.server.replace(/\/+$/, '');
  let caPem = o.caPem;
  if (!caPem) {
    // Trust on first use, pinned: the CA must match the fingerprint inside the token.
    const r = await httpsRequest(`${base}/api/v1/ca`, { insecure: true });
    if (r.status !== 200) throw new VigilError('VIGIL_E_AUTH', `cannot fetch the server CA (HTTP ${r.status})`);
    if (fingerprint(r.body) !== parts[2]!.toLowerCase())
      throw new VigilError('VIGIL_E_AUTH', 'server CA does not match the fingerprint in the enrollment token');
    caPem = r.body;
  }
  const hostname = o.hostname ?? os.hostname();
  const { keyPem, csrPem } = createKeyAndCsr(hostname);
  const r = await httpsRequest(`${base}/api/v1/enroll`, { method: 'POST', ca: caPem, body: { token: o.token.trim(), csr: csrPem, hostname } });
  if (r.status !== 200) {
    let msg = r.body;
    try {
      msg = (JSON.parse(r.body) as { message: string }).message;
    } catch {
      /* raw */
    }
    throw new VigilError('VIGIL_E_AUTH', `enrollment refused (HTTP ${r.status}): ${msg}`);
  }
  const b = JSON.parse(r.body) as { sensor_id: string; certificate: string; ca: string };
  const creds: SensorCredentials = { sensorId: b.sensor_id, server: base, certPem: b.certificate, keyPem, caPem: b.ca };
  saveCredentials(o.dir, creds);
  return creds;
}
