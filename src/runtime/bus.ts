// The run-time bus of one sensor: typed topics (events, alerts, policy decisions, logs) that the
// parts of `vigil run` publish and subscribe to. Messages are objects, never strings: whoever
// writes a message out (stdout printer, uplink) serialises it. Publishing is synchronous and
// allocates nothing: a topic nobody subscribed to costs one array-length check, and publishers of
// messages that must be built first ask `has(topic)` before building them. A throwing subscriber
// is counted and reported through `onError`; the other subscribers still get the message.
import { VigilError } from '../common/errors.ts';
import type { VigilEvent, FieldTree } from '../abi/event.ts';
import type { AlertMessage } from './alert.ts';

/** A policy decision as the policy hook publishes it: the decision event and its verdict. */
export interface PolicyDecision {
  enforcer: 'fanotify' | 'cgroup-bpf';
  /** the access was denied (the event's result is negative) */
  blocked: boolean;
  /** the event's policy block (name, action, rule, ...) */
  policy: FieldTree;
  /** the decision as an event of the stream (enriched like the kernel's records) */
  event: VigilEvent;
}

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

export interface LogRecord {
  level: LogLevel;
  /** which part logged it: 'core', a hook's name, 'loader' */
  source: string;
  msg: string;
}

/** Topic name -> message type. Adding a topic means adding a row here. */
export interface BusTopics {
  event: VigilEvent;
  alert: AlertMessage;
  decision: PolicyDecision;
  log: LogRecord;
}

export type Topic = keyof BusTopics;
export type Subscriber<T extends Topic> = (msg: BusTopics[T]) => void;

const TOPICS: readonly Topic[] = ['event', 'alert', 'decision', 'log'];

export class Bus {
  /** copy-on-write subscriber lists: publish iterates a list that (un)subscribe never mutates */
  #subs: { [T in Topic]: Subscriber<T>[] } = { event: [], alert: [], decision: [], log: [] };
  /** messages published / subscriber errors, per topic */
  readonly published: Record<Topic, number> = { event: 0, alert: 0, decision: 0, log: 0 };
  readonly errors: Record<Topic, number> = { event: 0, alert: 0, decision: 0, log: 0 };

  constructor(private readonly onError: (topic: Topic, err: unknown) => void = () => {}) {}

  /** Whether anyone listens: publishers build a message only when this is true. */
  has(topic: Topic): boolean {
    return this.#subs[topic].length > 0;
  }

  /** Adds a subscriber; returns the function that removes it. */
  subscribe<T extends Topic>(topic: T, fn: Subscriber<T>): () => void {
    if (!TOPICS.includes(topic)) throw new VigilError('VIGIL_E_INTERNAL', `unknown bus topic ${String(topic)}`);
    (this.#subs as Record<Topic, unknown[]>)[topic] = [...this.#subs[topic], fn];
    return () => {
      (this.#subs as Record<Topic, unknown[]>)[topic] = this.#subs[topic].filter((f) => f !== fn);
    };
  }

  /** Hands a message to every subscriber of its topic, in subscription order. */
  publish<T extends Topic>(topic: T, msg: BusTopics[T]): void {
    const subs = this.#subs[topic] as Subscriber<T>[];
    this.published[topic]++;
    for (let i = 0; i < subs.length; i++) {
      try {
        (subs[i] as Subscriber<T>)(msg);
      } catch (e) {
        this.errors[topic]++;
        this.onError(topic, e);
      }
    }
  }

  /** Subscriber counts per topic (for status). */
  subscribers(): Record<Topic, number> {
    return { event: this.#subs.event.length, alert: this.#subs.alert.length, decision: this.#subs.decision.length, log: this.#subs.log.length };
  }
}
