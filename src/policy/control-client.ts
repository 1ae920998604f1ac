// Client of the sensor's local control socket for the `vigil policy` commands: one JSON request
// line ({"op":"policy.apply","yaml":"...","file":"..."}, {"op":"policy.delete","name":...},
// {"op":"policy.list"}, {"op":"policy.status"}) over a unix socket, one JSON reply line back.
// The sensor's control server wraps results as {"ok":true,"result":{...}} and failures as
// {"ok":false,"error":...}; both are unwrapped here into one PolicyReply.
import { createConnection } from 'node:net';
import { VigilError } from '../common/errors.ts';

export const DEFAULT_SOCKET = '/run/vigil/sensor.sock';

export type PolicyRequest = { op: 'policy.apply'; yaml: string; file: string } | { op: 'policy.delete'; name: string } | { op: 'policy.list' } | { op: 'policy.status' };

export interface PolicyReply {
  ok: boolean;
  errors?: string[];
  warnings?: string[];
  [k: string]: unknown;
}

/** ControlServer envelopes ({ok,result} / {ok:false,error}) -> the policy reply inside. */
export function unwrap(raw: unknown): PolicyReply {
  if (typeof raw !== 'object' || raw === null || typeof (raw as PolicyReply).ok !== 'boolean') throw new VigilError('VIGIL_E_PROTOCOL', 'bad reply from the sensor: reply has no "ok"');
  const r = raw as PolicyReply & { result?: unknown; error?: unknown };
  if (r.ok && 'result' in r) {
    const inner = r.result;
    if (typeof inner === 'object' && inner !== null && typeof (inner as PolicyReply).ok === 'boolean') return inner as PolicyReply;
    if (typeof inner === 'object' && inner !== null) return { ok: true, ...(inner as Record<string, unknown>) };
    return { ok: true, result: inner };
  }
  if (!r.ok && typeof r.error === 'string' && !r.errors) return { ...r, errors: [r.error] };
  return r;
}

/** Sends one request and resolves with the parsed reply; VIGIL_E_SOCKET / VIGIL_E_PROTOCOL otherwise. */
export function sendRequest(req: PolicyRequest, socketPath = DEFAULT_SOCKET, timeoutMs = 10_000): Promise<PolicyReply> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    let done = false;
    const finish = (err: Error | undefined, reply?: PolicyReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new VigilError('VIGIL_E_SOCKET', `no reply from ${socketPath} within ${timeoutMs} ms`, { where: socketPath })), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      try {
        const reply = unwrap(JSON.parse(buf.slice(0, nl)) as PolicyReply);
        finish(undefined, reply);
      } catch (e) {
        finish(new VigilError('VIGIL_E_PROTOCOL', `bad reply from the sensor: ${(e as Error).message}`, { where: socketPath }));
      }
    });
    sock.on('error', (e: NodeJS.ErrnoException) =>
      finish(new VigilError('VIGIL_E_SOCKET', `cannot reach the sensor at ${socketPath} (${e.code ?? e.message}); is it running?`, { where: socketPath, cause: e })),
    );
    sock.on('end', () => finish(new VigilError('VIGIL_E_PROTOCOL', 'the sensor closed the connection without a reply', { where: socketPath })));
  });
}
