// Test helper for tests that need the real kernel (root, BPF, runc). Under VIGIL_REQUIRE_BPF=1 (CI)
// a missing prerequisite FAILS the test; otherwise the test is skipped with the reason.
import { existsSync } from 'node:fs';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import type { TestContext } from 'node:test';
import path from 'node:path';

export const repoRoot = path.resolve(import.meta.dirname, '..', '..');
export const sharedDir = path.resolve(repoRoot, '..', 'shared');
export const loaderPath = path.join(repoRoot, 'build', 'vigil-loader');
export const vigilBin = path.join(repoRoot, 'bin', 'vigil');

export function kernelPrereqMissing(extra: string[] = []): string | undefined {
  if (process.getuid?.() !== 0) return 'not root';
  if (!existsSync('/sys/kernel/btf/vmlinux')) return 'no BTF at /sys/kernel/btf/vmlinux';
  if (!existsSync(loaderPath)) return `loader not built (${loaderPath}); run make build`;
  for (const bin of extra) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore' });
    } catch {
      return `${bin} not installed`;
    }
  }
  return undefined;
}

/** Call at the top of a kernel test: returns false (and skips) when it cannot run, unless required. */
export function needKernel(t: TestContext, extra: string[] = []): boolean {
  const missing = kernelPrereqMissing(extra);
  if (!missing) return true;
  if (process.env.VIGIL_REQUIRE_BPF === '1') throw new Error(`VIGIL_REQUIRE_BPF=1 but ${missing}`);
  t.skip(missing);
  return false;
}

/**
 * Resolves once a `vigil run` answers `vigil status` on its control socket (its hooks are attached
 * by then); rejects after `timeoutMs`, or at once when `exited()` says the sensor is gone.
 */
export async function waitForStatusSocket(socket: string, timeoutMs = 60_000, exited: () => string | undefined = () => undefined): Promise<void> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const gone = exited();
    if (gone !== undefined) throw new Error(`the sensor exited before its socket answered: ${gone}`);
    try {
      execFileSync(vigilBin, ['status', '--json', '--socket', socket], { stdio: 'ignore' });
      return;
    } catch {
      if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for the status socket ${socket}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  }
}

export interface VigilRun {
  child: ChildProcess;
  /** resolves with the exit code (null when killed by a signal) once the process is gone */
  exited: Promise<number | null>;
  out(): string;
  err(): string;
  /** stdout and stderr together, in arrival order */
  logs(): string;
}

/** Starts `vigil run ARGS...` as a child process, collecting its stdout and stderr. */
export function spawnVigilRun(args: string[]): VigilRun {
  const child = spawn(vigilBin, ['run', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  let logs = '';
  child.stdout!.on('data', (d: Buffer) => ((out += d), (logs += d)));
  child.stderr!.on('data', (d: Buffer) => ((err += d), (logs += d)));
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, exited, out: () => out, err: () => err, logs: () => logs };
}
