// Test helpers for the run-time contract without a kernel: a sensor handle fed with events by the
// test, a control registry that records operations, a Writable that keeps what was written, and
// a temp rules file.
import { Writable } from 'node:stream';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { ControlHandler, ControlRegistry, SensorHandle, SensorStatusView } from '../../../src/runtime/index.ts';
import type { VigilEvent } from '../../../src/abi/event.ts';
import { event } from '../../helpers/rules.ts';

export class FeedSensor implements SensorHandle {
  #consumers: ((ev: VigilEvent) => void)[] = [];
  dropped = 0;

  onEvent(fn: (ev: VigilEvent) => void): void {
    this.#consumers.push(fn);
  }

  /** Delivers one event to every consumer, as the sensor does. */
  feed(ev: VigilEvent): void {
    for (const c of this.#consumers) c(ev);
  }

  status(): SensorStatusView {
    return { kernel: { ringbufDrops: 0 }, userspace: { dropped: this.dropped } };
  }

  countDrop(n = 1): void {
    this.dropped += n;
  }
}

export class RecordingControl implements ControlRegistry {
  readonly ops = new Map<string, ControlHandler>();

  register(op: string, fn: ControlHandler): void {
    if (this.ops.has(op)) throw new Error(`control op ${op} registered twice`);
    this.ops.set(op, fn);
  }

  call(op: string): unknown {
    const fn = this.ops.get(op);
    if (!fn) throw new Error(`no control op ${op}`);
    return fn({ op });
  }
}

export class Capture extends Writable {
  text = '';

  override _write(chunk: Buffer | string, _enc: BufferEncoding, cb: (e?: Error | null) => void): void {
    this.text += chunk.toString();
    cb();
  }

  lines(): string[] {
    return this.text.split('\n').filter(Boolean);
  }
}

/** A rules file with one rule firing on execs of `procName`; returns its path. */
export function rulesFile(rule: string, procName: string, output = 'exec of %proc.name (cmdline=%proc.cmdline)'): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'vigil-runtime-'));
  const file = path.join(dir, `${rule}.yaml`);
  writeFileSync(
    file,
    `- rule: ${rule}\n  desc: test rule ${rule}\n  condition: evt.type = execve and proc.name = ${procName}\n  output: "${output}"\n  priority: WARNING\n  tags: [test]\n`,
  );
  return file;
}

/** An exec event of a process named `name` with `cmdline`. */
export function execOf(name: string, cmdline = name, pid = 4242): VigilEvent {
  return event({ proc: { name, exe: name, cmdline, args: cmdline.split(' ').slice(1).join(' '), pid, tid: pid, vpid: pid } }) as unknown as VigilEvent;
}
