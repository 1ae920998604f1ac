// Test harness for the policy enforcers before the loader hosts them: builds and drives
// native/tools/fanx-run (fanotify enforcer) and native/tools/netx-run (cgroup BPF network
// enforcer), collecting their decision lines. Used by the kernel tests and the benchmark.
import { execFileSync, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdirSync, mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { repoRoot } from './kernel.ts';

const buildDir = path.join(repoRoot, 'build');

/** cc -O2 -o build/fanx-run native/tools/fanx-run.c native/fanotify_enforcer.c -lpthread (atomic replace). */
export function buildFanxRun(): string {
  mkdirSync(buildDir, { recursive: true });
  const out = path.join(buildDir, 'fanx-run');
  const tmp = `${out}.${process.pid}.tmp`;
  execFileSync('cc', ['-O2', '-Wall', '-o', tmp, 'native/tools/fanx-run.c', 'native/fanotify_enforcer.c', '-lpthread'], { cwd: repoRoot, stdio: 'pipe' });
  renameSync(tmp, out);
  return out;
}

/** Compiles maps.bpf.c + enforce_net.bpf.c, links them with bpftool, builds netx-run. Returns [tool, object]. */
export function buildNetxRun(): { tool: string; object: string } {
  mkdirSync(buildDir, { recursive: true });
  execFileSync('make', ['-s', 'build/vmlinux.h'], { cwd: repoRoot, stdio: 'pipe' });
  const tmp = mkdtempSync(path.join(os.tmpdir(), 'vigil-netx-'));
  const cflags = ['-g', '-O2', '-target', 'bpf', '-D__TARGET_ARCH_x86', '-Ibuild', '-Ibpf'];
  execFileSync('clang', [...cflags, '-c', 'bpf/maps.bpf.c', '-o', path.join(tmp, 'maps.o')], { cwd: repoRoot, stdio: 'pipe' });
  execFileSync('clang', [...cflags, '-c', 'bpf/enforce_net.bpf.c', '-o', path.join(tmp, 'enet.o')], { cwd: repoRoot, stdio: 'pipe' });
  const object = path.join(tmp, 'netx.o');
  execFileSync('bpftool', ['gen', 'object', object, path.join(tmp, 'maps.o'), path.join(tmp, 'enet.o')], { stdio: 'pipe' });
  const tool = path.join(buildDir, 'netx-run');
  const t2 = `${tool}.${process.pid}.tmp`;
  execFileSync('cc', ['-O2', '-Ibpf', '-o', t2, 'native/tools/netx-run.c', '-lbpf', '-lelf', '-lz'], { cwd: repoRoot, stdio: 'pipe' });
  renameSync(t2, tool);
  return { tool, object };
}

export interface Decision {
  policy: { name: string; action: string; rule: string; severity?: number; message?: string; allowList?: string[] };
  evt: { type: 'openat' | 'execve'; res: number };
  proc: { pid: number; tid: number; exe: string };
  fd: { name: string };
  container: { name: string; scope: string };
  ts: number;
}

/** A line-oriented child process with awaitable markers. */
class LineProc {
  readonly child: ChildProcessWithoutNullStreams;
  readonly lines: string[] = [];
  #waiters: Array<{ pred: (l: string) => boolean; resolve: (l: string) => void }> = [];
  #buf = '';
  stderr = '';
  exited: Promise<number | null>;

  constructor(cmd: string, args: string[]) {
    this.child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    this.child.stdout.setEncoding('utf8');
    this.child.stdout.on('data', (d: string) => {
      this.#buf += d;
      let nl: number;
      while ((nl = this.#buf.indexOf('\n')) >= 0) {
        const line = this.#buf.slice(0, nl);
        this.#buf = this.#buf.slice(nl + 1);
        this.lines.push(line);
        this.#waiters = this.#waiters.filter((w) => {
          if (!w.pred(line)) return true;
          w.resolve(line);
          return false;
        });
      }
    });
    this.child.stderr.on('data', (d: Buffer) => (this.stderr += d.toString()));
    this.exited = new Promise((r) => this.child.on('exit', (code) => r(code)));
  }

  /** Resolves with the first line (already seen from index `from`, or future) matching pred. */
  waitLine(pred: (l: string) => boolean, timeoutMs = 10_000, from = 0): Promise<string> {
    const seen = this.lines.slice(from).find(pred);
    if (seen !== undefined) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const w = { pred, resolve: (l: string) => (clearTimeout(timer), resolve(l)) };
      const timer = setTimeout(() => {
        this.#waiters = this.#waiters.filter((x) => x !== w);
        reject(new Error(`timeout waiting for a line; stderr: ${this.stderr.trim()} lines: ${this.lines.slice(-5).join(' | ')}`));
      }, timeoutMs);
      this.#waiters.push(w);
    });
  }

  send(line: string): void {
    this.child.stdin.write(`${line}\n`);
  }
}

export class FanxRun extends LineProc {
  readonly tableFile: string;
  constructor(tool: string, tableFile: string, failClosedExec = false) {
    super(tool, [...(failClosedExec ? ['--fail-closed-exec'] : []), tableFile]);
    this.tableFile = tableFile;
  }

  static async start(tool: string, table: string, failClosedExec = false): Promise<FanxRun> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-fanx-'));
    const f = path.join(dir, 'table.fanx');
    writeFileSync(f, table);
    const p = new FanxRun(tool, f, failClosedExec);
    const first = await p.waitLine((l) => l === 'READY' || l.startsWith('ERROR'));
    if (first !== 'READY') {
      p.child.kill('SIGKILL');
      throw new Error(`fanx-run: ${first}`);
    }
    return p;
  }

  decisions(): Decision[] {
    return this.lines.filter((l) => l.startsWith('D ')).map((l) => JSON.parse(l.slice(2)) as Decision);
  }

  /** Loads a new table; resolves with "LOADED" or "ERROR ...". */
  async reload(table: string): Promise<string> {
    const f = `${this.tableFile}.${Date.now()}`;
    writeFileSync(f, table);
    const from = this.lines.length;
    this.send(`reload ${f}`);
    return this.waitLine((l) => l === 'LOADED' || l.startsWith('ERROR'), 10_000, from);
  }

  async stats(): Promise<Record<string, number>> {
    const from = this.lines.length;
    this.send('stats');
    const l = await this.waitLine((x) => x.startsWith('S '), 10_000, from);
    return JSON.parse(l.slice(2)) as Record<string, number>;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}

export interface NetDecision {
  action: number;
  policy: number;
  family: number;
  proto: number;
  port: number;
  addr: string;
  hook: number;
  scope: number;
  socktype: number;
  posture: number;
  res: number;
  pid: number;
  cgroup: number;
  comm: string;
}

export class NetxRun extends LineProc {
  static async start(tool: string, object: string): Promise<NetxRun> {
    const p = new NetxRun(tool, [object]);
    const first = await p
      .waitLine((l) => l === 'READY', 15_000)
      .catch((e: Error) => {
        p.child.kill('SIGKILL');
        throw e;
      });
    void first;
    return p;
  }

  async cmd(line: string): Promise<void> {
    const verb = line.split(' ')[0]!;
    const from = this.lines.length;
    this.send(line);
    const r = await this.waitLine((l) => l === `OK ${verb}` || l.startsWith(`ERR ${verb}`), 10_000, from);
    if (r.startsWith('ERR')) throw new Error(`netx-run: ${r}`);
  }

  async load(text: string): Promise<void> {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-netx-t-'));
    const f = path.join(dir, 'rules.netx');
    writeFileSync(f, text);
    await this.cmd(`load ${f}`);
  }

  decisions(): NetDecision[] {
    return this.lines.filter((l) => l.startsWith('N ')).map((l) => JSON.parse(l.slice(2)) as NetDecision);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.send('quit');
    const t = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(t);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
