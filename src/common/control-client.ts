// Client of a running sensor's local control socket (served by src/sensor/control.ts): one JSON
// request line ({"op":"status"}, {"op":"policy.apply",...}) over the unix socket, one JSON reply line
// back, the envelope {"ok":true,"result":...} or {"ok":false,"error":...,"code":...}. The one client
// for `vigil status`, the `vigil policy` commands and the tests; its failures are VigilErrors:
// VIGIL_E_SOCKET when the sensor cannot be reached or does not answer in time, VIGIL_E_PROTOCOL
// when what comes back is not a reply.
import { createConnection } from 'node:net';
import { VigilError } from './errors.ts';

export const DEFAULT_SOCKET = '/run/vigil/sensor.sock';

/** The control server's envelope. */
export interface ControlReply {
  ok: boolean;
  result?: unknown;
  error?: string;
  code?: string;
  details?: unknown;
}

/** Sends one request and resolves with the reply envelope (ok or not); rejects with VIGIL_E_SOCKET / VIGIL_E_PROTOCOL. */
export function controlRequest(socketPath: string = DEFAULT_SOCKET, req: Record<string, unknown>, timeoutMs = 10_000): Promise<ControlReply> {
  return new Promise((resolve, reject) => {
    const sock = createConnection(socketPath);
    let buf = '';
    let done = false;
    const finish = (err: VigilError | undefined, reply?: ControlReply) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      if (err) reject(err);
      else resolve(reply!);
    };
    const timer = setTimeout(() => finish(new VigilError('VIGIL_E_SOCKET', `no reply from ${socketPath} within ${timeoutMs} ms`)), timeoutMs);
    sock.setEncoding('utf8');
    sock.on('connect', () => sock.write(`${JSON.stringify(req)}\n`));
    sock.on('data', (d: string) => {
      buf += d;
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      let reply: unknown;
      try {
        reply = JSON.parse(buf.slice(0, nl));
      } catch (e) {
        finish(new VigilError('VIGIL_E_PROTOCOL', `bad reply from the sensor: ${(e as Error).message}`));
        return;
      }
      if (typeof reply !== 'object' || reply === null || typeof (reply as ControlReply).ok !== 'boolean') {
        finish(new VigilError('VIGIL_E_PROTOCOL', 'bad reply from the sensor: reply has no "ok"'));
        return;
      }
      finish(undefined, reply as ControlReply);
    });
    sock.on('error', (e: NodeJS.ErrnoException) =>
      finish(new VigilError('VIGIL_E_SOCKET', `cannot reach the sensor at ${socketPath} (${e.code ?? e.message}); is it running?`, { cause: e })),
    );
    sock.on('end', () => finish(new VigilError('VIGIL_E_PROTOCOL', 'the sensor closed the connection without a reply')));
  });
}
