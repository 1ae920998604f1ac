// Loader client: spawns the native loader (build/vigil-loader) as a child process, feeds its
// stdout to the frame reader its owner supplies (the sensor's decoder), and sends it control
// commands with replies matched by id (the typed commands are in commands.ts). The frame reader
// hands the hello line and replies back through LoaderControl. If the loader fails at start it
// prints one line `VIGIL_E_*: what is missing and how to fix it` and exits 2; that line becomes a
// VigilError with exit code 2. The hello line is parsed once (hello.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { VigilError, type ErrorCode, ErrorCodes } from '../common/errors.ts';
import { parseHello, type Hello } from './hello.ts';
import type { LoaderPort } from './commands.ts';

/** What the frame reader reports back to the client: the hello line and command replies. */
export interface LoaderControl {
  hello(text: string): void;
  reply(text: string): void;
}

/** Reads the loader's stdout (framed records, bpf/vigil_abi.h). */
export interface FrameReader {
  push(chunk: Buffer): void;
}

export const DEFAULT_LOADER = path.resolve(import.meta.dirname, '..', '..', 'build', 'vigil-loader');

/**
 * Default ring-buffer drain period: a wakeup per event cost a fork+exec loop with the stable rules
 * 17.5% of its rate here against 3.8% batched (an irq_work in the traced task, two context switches
 * per event; README); batching adds at most this much to the syscall-to-alert latency.
 */
export const DEFAULT_WAKEUP_MS = 5;

export interface LoaderOptions {
  loaderPath?: string;
  ringbufMb?: number;
  /** how long events may wait in the ring buffer before the loader drains it (batched wakeups; 0: wake per event) */
  wakeupMs?: number;
  failClosedExec?: boolean;
  /** do not ignore the parent process (tests that trace themselves) */
  traceParent?: boolean;
}

interface Pending {
  resolve: (text: string) => void;
  reject: (e: Error) => void;
}

export class LoaderClient implements LoaderPort {
  private child: ChildProcess | undefined;
  private nextId = 1;
  private pending = new Map<string, Pending>();
  private stderrTail = '';
  readonly reader: FrameReader;
  /** the hello line as sent ('' before start) */
  hello = '';
  /** the hello line, parsed (set by start) */
  info: Hello | undefined;
  exited: Promise<number>;
  private resolveExit!: (code: number) => void;
  private helloWait: Promise<string>;
  private resolveHello!: (s: string) => void;

  constructor(
    /** makes the reader of the loader's stdout; it must call back `ctl` for hello and replies */
    reader: (ctl: LoaderControl) => FrameReader,
    private readonly opts: LoaderOptions = {},
  ) {
    this.exited = new Promise((r) => (this.resolveExit = r));
    this.helloWait = new Promise((r) => (this.resolveHello = r));
    this.reader = reader({
      hello: (t) => {
        this.hello = t;
        this.resolveHello(t);
      },
      reply: (t) => this.onReply(t),
    });
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the loader and waits for its HELLO; throws VigilError (exit code 2) on failure or a malformed hello. */
  async start(): Promise<Hello> {
    // VIGIL_LOADER: another build of the loader (benchmarks compare two builds in one run)
    const bin = this.opts.loaderPath ?? (process.env.VIGIL_LOADER || DEFAULT_LOADER);
    if (process.getuid?.() !== 0)
      throw new VigilError('VIGIL_E_NOT_ROOT', 'vigil must run as root to load eBPF programs (try: sudo ./bin/vigil run)', { exitCode: 2 });
    if (!existsSync(bin)) throw new VigilError('VIGIL_E_LOADER_MISSING', `native loader not found at ${bin}; run 'make build'`, { exitCode: 2 });
    const args: string[] = [];
    if (this.opts.ringbufMb) args.push('--ringbuf-mb', String(this.opts.ringbufMb));
    args.push('--wakeup-ms', String(this.opts.wakeupMs ?? DEFAULT_WAKEUP_MS));
    if (this.opts.failClosedExec) args.push('--fail-closed-exec');
    const env = { ...process.env };
    if (this.opts.traceParent) env.VIGIL_LOADER_TRACE_PARENT = '1';
    const child = spawn(bin, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    this.child = child;
    child.stdout!.on('data', (chunk: Buffer) => this.reader.push(chunk));
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderrTail = (this.stderrTail + chunk.toString()).slice(-4096);
    });
    child.stdin!.on('error', () => {});
    child.on('close', (code, signal) => {
      const c = code ?? (signal ? 128 : 1);
      for (const p of this.pending.values()) p.reject(new VigilError('VIGIL_E_LOADER_DIED', `loader exited (${signal ?? code})`));
      this.pending.clear();
      this.resolveExit(c);
    });
    const first = await Promise.race([this.helloWait.then((h) => ({ h })), this.exited.then((code) => ({ code }))]);
    if ('code' in first) throw this.startError(first.code);
    try {
      this.info = parseHello(first.h);
    } catch (e) {
      await this.stop().catch(() => {});
      throw e;
    }
    return this.info;
  }

  private startError(code: number): VigilError {
    const line = this.stderrTail.trim().split('\n').filter(Boolean).pop() ?? `loader exited with status ${code}`;
    const m = /^(VIGIL_E_[A-Z_]+): (.*)$/.exec(line);
    if (m && m[1]! in ErrorCodes) return new VigilError(m[1] as ErrorCode, m[2]!, { exitCode: 2 });
    return new VigilError('VIGIL_E_BPF_UNAVAILABLE', line, { exitCode: 2 });
  }

  private onReply(text: string): void {
    const sp = text.indexOf(' ');
    const id = text.slice(0, sp);
    const rest = text.slice(sp + 1);
    const p = this.pending.get(id);
    if (!p) return;
    this.pending.delete(id);
    if (rest.startsWith('ok')) p.resolve(rest.slice(3));
    else p.reject(new VigilError('VIGIL_E_KERNEL_FEATURE', rest.replace(/^err /, '')));
  }

  /** Sends one command; resolves with the reply text or rejects with the loader's error. */
  command(line: string, body?: Buffer | string): Promise<string> {
    const child = this.child;
    if (!child || child.exitCode !== null) return Promise.reject(new VigilError('VIGIL_E_LOADER_DIED', 'loader is not running'));
    const id = String(this.nextId++);
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      child.stdin!.write(`${id} ${line}\n`);
      if (body !== undefined) child.stdin!.write(body);
    });
  }

  /** Closes stdin (the loader flushes, detaches and exits) and waits. */
  async stop(timeoutMs = 3000): Promise<number> {
    const child = this.child;
    if (!child) return 0;
    if (child.exitCode === null) {
      child.stdin!.end();
      const t = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
      const code = await this.exited;
      clearTimeout(t);
      return code;
    }
    return this.exited;
  }

  kill(signal: NodeJS.Signals = 'SIGKILL'): void {
    this.child?.kill(signal);
  }
}
