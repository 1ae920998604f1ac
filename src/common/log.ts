// Logging shared by every layer (server, sensor uplink, ...): pino JSON lines, every line passed through
// credential redaction before it is written (message arguments and the serialised line itself).
import pino, { type Logger, type DestinationStream } from 'pino';
import { redactLine, redactString } from './redact.ts';

export type { Logger } from 'pino';

export function createLogger(opts: { level?: string; name?: string; destination?: DestinationStream | number } = {}): Logger {
  const dest =
    opts.destination === undefined
      ? pino.destination({ dest: 2, sync: true })
      : typeof opts.destination === 'number'
        ? pino.destination({ dest: opts.destination, sync: true })
        : opts.destination;
  return pino(
    {
      name: opts.name ?? 'vigil',
      level: opts.level ?? process.env.VIGIL_LOG_LEVEL ?? 'info',
      base: { pid: process.pid },
      hooks: {
        logMethod(args, method) {
          for (let i = 0; i < args.length; i++) {
            const a = args[i];
            if (typeof a === 'string') args[i] = redactString(a);
          }
          return method.apply(this, args as Parameters<typeof method>);
        },
        streamWrite: (line: string) => redactLine(line),
      },
    },
    dest,
  );
}

/** A logger that discards everything (tests, embedding). */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
