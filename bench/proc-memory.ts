// Benchmark: memory per process in the sensor's process table. Feeds the enricher (no kernel, no
// host /proc: frames built with the ABI mirror) N exec events, each followed by F opens, and
// measures the JavaScript heap after a full GC before and after: bytes per process for a short
// command line, a 4 KB argv (the exec hook's argv limit) and 32 tracked fds. The figures behind the
// retention table of docs/architecture.md ("Process state retention").
//
// Usage: node --import tsx bench/proc-memory.ts [--procs N]
import v8 from 'node:v8';
import vm from 'node:vm';
import { EXEC_A, FDT, FD_A, K, NARGS } from '../src/abi/layout.ts';
import { Enricher } from '../src/sensor/enrich.ts';
import { ProcTable } from '../src/sensor/proctable.ts';
import { CgroupIndex } from '../src/sensor/container.ts';
import { FixedUsers, NoProcContainers, decodeAll, emptyDir, eventFrame } from '../tests/helpers/frames.ts';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const argv = process.argv.slice(2);
const N = Number(argv[argv.indexOf('--procs') + 1] || 20000) || 20000;
const S = 1_000_000_000n;

function exec(pid: number, name: string, ts: bigint, longArgv: boolean): Buffer {
  const args = new Array<number | bigint>(NARGS).fill(0);
  args[EXEC_A.START] = ts;
  args[EXEC_A.SID_PGID] = (BigInt(pid) << 32n) | BigInt(pid);
  const av = longArgv ? [name, ...Array.from({ length: 62 }, (_, i) => `${'a'.repeat(62)}${String(i).padStart(2, '0')}`)] : [name, '-c', 'echo hello world'];
  return eventFrame({
    kind: K.EXECVE,
    pid,
    ppid: 2,
    comm: name,
    syscall: 59,
    ts,
    args,
    strs: [`/usr/bin/${name}`, `${av.join('\0')}\0`, '/home/user/project', name],
  });
}

function open(pid: number, fd: number, ts: bigint): Buffer {
  const args = new Array<number>(NARGS).fill(0);
  args[0] = fd;
  args[1] = -100;
  args[FD_A.TYPE] = FDT.FILE;
  return eventFrame({ kind: K.OPENAT, pid, ppid: 2, comm: 'x', res: fd, syscall: 257, ts, args, strs: [`/etc/conf.d/file${fd}.conf`, '/'] });
}

function perProcess(longArgv: boolean, fds: number): number {
  const empty = emptyDir();
  const procs = new ProcTable({ procRoot: empty, maxSize: N + 10 });
  const en = new Enricher(
    procs,
    new NoProcContainers({ runc: [empty], docker: empty, containerdTasks: [empty], crio: empty }),
    new FixedUsers(),
    new CgroupIndex(empty),
  );
  const build = (f: Buffer) => en.build(decodeAll(f)[0]!);
  build(exec(2, 'bash', 1n * S, false));
  gc();
  gc();
  const h0 = process.memoryUsage().heapUsed;
  for (let i = 0; i < N; i++) {
    const pid = 1000 + i;
    build(exec(pid, `worker${i % 100}`, 2n * S + BigInt(i), longArgv));
    for (let f = 0; f < fds; f++) build(open(pid, 3 + f, 3n * S + BigInt(i)));
  }
  gc();
  gc();
  const h1 = process.memoryUsage().heapUsed;
  if (procs.procs.size !== N + 1) throw new Error(`${procs.procs.size} processes in the table, expected ${N + 1}`);
  return (h1 - h0) / N;
}

const rows: [string, number][] = [
  ['short command line, no fds', perProcess(false, 0)],
  ['short command line, 32 fds', perProcess(false, 32)],
  ['4 KB argv, no fds', perProcess(true, 0)],
];
process.stdout.write(`# memory per process in the process table (${N} processes, heap after GC, ${new Date().toISOString()})\n\n`);
process.stdout.write('| process | bytes per process |\n| --- | ---: |\n');
for (const [label, b] of rows) process.stdout.write(`| ${label} | ${Math.round(b)} |\n`);
process.stdout.write(`\nper tracked fd: ${Math.round((rows[1]![1] - rows[0]![1]) / 32)} bytes\n`);
