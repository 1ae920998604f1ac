// SensorHandle: the narrow interface the sensor offers consumers such as policy, instead of its
// loader, enricher, container resolver and process table. It extends the kernel handle (hello,
// loader pid, command port) with the facts a consumer may ask about processes and containers and
// the two things it may do with the stream: subscribe to it and add synthetic records to it.
// Consumers import this module's types only (ContainerInfo and RuntimeRoots included, re-exported
// so that no consumer imports the container resolver); Sensor.handle() implements it.
import type { KernelHandle } from '../kernel/handle.ts';
import type { ContainerInfo, RuntimeRoots } from './container.ts';
import type { VigilEvent } from '../abi/event.ts';
import type { RawEvent } from './kinds.ts';

export type { ContainerInfo, RuntimeRoots };

/** What a consumer may know about a process. */
export interface ProcessFacts {
  ppid: number;
  uid: number;
  gid: number;
  euid: number;
  loginuid: number;
  mntns: number;
  vpid: number;
  name: string;
}

export interface SensorHandle extends KernelHandle {
  /** the container runtimes' state directories this sensor reads */
  readonly runtimeRoots: RuntimeRoots;
  /** A process from the process table, or (snapshot) read from /proc now and kept. */
  process(pid: number, snapshot?: boolean): ProcessFacts | undefined;
  /** Marks a process the table learned late (snapshot) as exited. */
  markExited(pid: number): void;
  /** The container of a cgroup id seen in events: undefined when the cgroup path is unknown, null when it is not a container's. */
  containerOfCgroup(cgroupId: string): ContainerInfo | null | undefined;
  /**
   * Enriches a record that did not come from the kernel (e.g. a fanotify decision) like a kernel
   * record, lets `patch` adjust the event, and delivers it to every consumer. False when it could
   * not be built.
   */
  injectRecord(r: RawEvent, patch?: (ev: VigilEvent) => void): boolean;
  /** Every event of the stream. */
  onEvent(fn: (ev: VigilEvent) => void): void;
  /** Every fanotify enforcer decision (JSON, native/fanotify_enforcer.h). */
  onDecision(fn: (json: string) => void): void;
}

/** What offers a SensorHandle (the running Sensor): a run hook that needs the handle asks for this. */
export interface HandleProvider {
  handle(): SensorHandle;
}
