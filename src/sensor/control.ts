// Local control socket of a running sensor (a unix socket, mode 0600, default
// /run/vigil/sensor.sock). It speaks two protocols on the same socket, told apart by the first
// bytes: JSON lines (`{"op":"status"}` → one JSON reply line) for the CLI, and HTTP for
// Prometheus (`GET /metrics`) and curl (`GET /status`). Operations are registered by the parts
// that own them (status here, policy.* by the policy manager), so this file knows no semantics.
import net from 'node:net';
import http from 'node:http';
import { mkdirSync, unlinkSync, chmodSync, existsSync } from 'node:fs';
import path from 'node:path';
import { VigilError } from '../common/errors.ts';
import { DEFAULT_SOCKET } from '../common/control-client.ts';

// the one client of this socket is src/common/control-client.ts
export { DEFAULT_SOCKET, controlRequest } from '../common/control-client.ts';

export type OpHandler = (req: Record<string, unknown>) => Promise<unknown> | unknown;

export class ControlServer {
  private ops = new Map<string, OpHandler>();
  private server: net.Server | undefined;
  private http: http.Server;
  metricsText: () => string = () => '';

  constructor(readonly socketPath: string = DEFAULT_SOCKET) {
    this.http = http.createServer((req, res) => {
      if (req.method === 'GET' && req.url === '/metrics') {
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' });
        res.end(this.metricsText());
        return;
      }
      if (req.method === 'GET' && req.url === '/status') {
        Promise.resolve(this.ops.get('status')?.({ op: 'status' }))
          .then((s) => {
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify(s));
          })
          .catch((e: Error) => {
            res.writeHead(500);
            res.end(e.message);
          });
        return;
      }
      res.writeHead(404);
      res.end('not found\n');
    });
  }

  register(op: string, fn: OpHandler): void {
    if (this.ops.has(op)) throw new VigilError('VIGIL_E_INTERNAL', `control op ${op} registered twice`);
    this.ops.set(op, fn);
  }

  async listen(): Promise<void> {
    mkdirSync(path.dirname(this.socketPath), { recursive: true, mode: 0o700 });
    if (existsSync(this.socketPath)) {
      // a live sensor answers; a stale socket file does not
      const alive = await new Promise<boolean>((resolve) => {
        const c = net.connect(this.socketPath);
        c.once('connect', () => {
          c.destroy();
          resolve(true);
        });
        c.once('error', () => resolve(false));
      });
      if (alive)
        throw new VigilError('VIGIL_E_SOCKET', `another sensor is listening on ${this.socketPath} (use --socket to choose another path)`, {
          where: this.socketPath,
        });
      unlinkSync(this.socketPath);
    }
    this.server = net.createServer((sock) => this.onConnection(sock));
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.socketPath, () => resolve());
    });
    chmodSync(this.socketPath, 0o600);
  }

  private onConnection(sock: net.Socket): void {
    sock.once('data', (first: Buffer) => {
      const head = first.subarray(0, 8).toString('latin1');
      if (/^(GET|POST|PUT|DELETE|HEAD) /.test(head)) {
        sock.pause();
        sock.unshift(first);
        this.http.emit('connection', sock);
        sock.resume();
        return;
      }
      let buf = first.toString();
      const handleLines = () => {
        let nl: number;
        while ((nl = buf.indexOf('\n')) >= 0) {
          const line = buf.slice(0, nl);
          buf = buf.slice(nl + 1);
          if (line.trim()) void this.handleLine(sock, line);
        }
      };
      handleLines();
      sock.on('data', (d: Buffer) => {
        buf += d.toString();
        if (buf.length > 64 * 1024 * 1024) {
          sock.end(JSON.stringify({ ok: false, error: 'request too large' }) + '\n');
          return;
        }
        handleLines();
      });
    });
    sock.on('error', () => {});
  }

  private async handleLine(sock: net.Socket, line: string): Promise<void> {
    let reply: unknown;
    try {
      const req = JSON.parse(line) as Record<string, unknown>;
      const fn = this.ops.get(String(req.op));
      if (!fn) reply = { ok: false, error: `unknown op ${String(req.op)}`, ops: [...this.ops.keys()] };
      else reply = { ok: true, result: await fn(req) };
    } catch (e) {
      const err = e as Error & { code?: string; details?: unknown };
      reply = { ok: false, error: err.message, code: err.code, details: err.details };
    }
    if (!sock.destroyed) sock.write(JSON.stringify(reply) + '\n');
  }

  async close(): Promise<void> {
    if (!this.server) return;
    await new Promise<void>((r) => this.server!.close(() => r()));
    try {
      unlinkSync(this.socketPath);
    } catch {}
  }
}
