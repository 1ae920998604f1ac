// The narrow handle on the running kernel side that consumers (policy) hold instead of the
// sensor's internals: the loader's hello (parsed), its pid, and the port commands go to (the
// typed functions of commands.ts take it). Consumers that also need process/container facts or
// the event stream get them from SensorHandle (src/sensor/handle.ts), which extends this.
import type { Hello } from './hello.ts';
import type { LoaderPort } from './commands.ts';

export interface KernelHandle {
  /** the loader's hello, parsed */
  readonly hello: Hello;
  /** pid of the loader process (undefined before it started) */
  readonly loaderPid: number | undefined;
  /** where the typed commands go */
  readonly port: LoaderPort;
}
