// An alert on the bus: the Alert object the rules engine built, carried as an object from the
// detector to every writer, and serialised at most once (the first writer that needs the JSON line
// asks json(); later writers get the same string). Alerts evaluated in a worker thread arrive as
// the worker's JSON line: the message keeps that line as its serialisation and parses it once for
// the object. `alertCodec` is the one serialiser (Falco's json_output field order).
import { alertToJson } from '../rules/output.ts';
import type { Alert } from '../rules/types.ts';

/** The serialiser of alerts (an object so a test can count its calls). */
export const alertCodec = {
  toJson(a: Alert): string {
    return alertToJson(a);
  },
};

export class AlertMessage {
  #json: string | undefined;

  private constructor(
    readonly alert: Alert,
    json: string | undefined,
  ) {
    this.#json = json;
  }

  /** An alert built in this thread (not serialised yet). */
  static of(alert: Alert): AlertMessage {
    return new AlertMessage(alert, undefined);
  }

  /** An alert that crossed a thread as its JSON line: parsed once, the line kept as its serialisation. */
  static fromJson(json: string): AlertMessage {
    return new AlertMessage(JSON.parse(json) as Alert, json);
  }

  get rule(): string {
    return this.alert.rule;
  }

  /** The Falco json_output line (no newline), serialised on first use and kept. */
  json(): string {
    return (this.#json ??= alertCodec.toJson(this.alert));
  }

  /** Whether the JSON line has been produced already. */
  get serialised(): boolean {
    return this.#json !== undefined;
  }
}
