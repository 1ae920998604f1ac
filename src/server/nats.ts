// Scale-out ingest through NATS JetStream (`vigil server --stream nats://...`). Every server
// publishes validated sensor batches to the work-queue stream VIGIL_INGEST (file storage,
// subject vigil.ingest.<sensor>, Nats-Msg-Id = sensor:first-last for JetStream's own dedupe) and
// acks the sensor once JetStream acknowledged the publish, so a server may die right after without
// loss. All servers pull from one durable consumer and write to the (shared) store; the store's
// (sensor, seq) dedupe makes redeliveries harmless. A message is acked to JetStream only after the
// store committed it; on failure it is nak'ed and redelivered.
import { AckPolicy, RetentionPolicy, StorageType, connect, headers, nanos, type ConsumerMessages, type JetStreamClient, type NatsConnection } from 'nats';
import { VigilError } from '../common/errors.ts';
import type { Store } from '../store/types.ts';
import { parseClientFrame, type BatchFrame } from '../wire/protocol.ts';
import { storeBatch, type Ingestor } from './ingest.ts';
import type { Logger } from '../common/log.ts';
import type { ServerMetrics } from './metrics.ts';

export const STREAM_NAME = 'VIGIL_INGEST';
export const CONSUMER_NAME = 'vigil-store';
const SUBJECT_PREFIX = 'vigil.ingest.';

export class NatsIngestor implements Ingestor {
  private msgs?: ConsumerMessages;
  private loop?: Promise<void>;
  private stopping = false;

  private constructor(
    private readonly nc: NatsConnection,
    private readonly js: JetStreamClient,
    private readonly store: Store,
    private readonly metrics: ServerMetrics,
    private readonly log: Logger,
  ) {}

  static async start(o: { url: string; store: Store; metrics: ServerMetrics; log: Logger; consume?: boolean }): Promise<NatsIngestor> {
    let nc: NatsConnection;
    try {
      nc = await connect({ servers: o.url, name: 'vigil-server', maxReconnectAttempts: -1, reconnectTimeWait: 500 });
    } catch (e) {
      throw new VigilError('VIGIL_E_CONFIG', `cannot connect to NATS at ${o.url}: ${(e as Error).message}`, { cause: e });
    }
    const jsm = await nc.jetstreamManager();
    try {
      await jsm.streams.info(STREAM_NAME);
    } catch {
      try {
        await jsm.streams.add({
          name: STREAM_NAME,
          subjects: [`${SUBJECT_PREFIX}>`],
          retention: RetentionPolicy.Workqueue,
          storage: StorageType.File,
          duplicate_window: nanos(120_000),
        });
      } catch (e) {
        // Another server created it concurrently.
        await jsm.streams.info(STREAM_NAME).catch(() => {
          throw e;
        });
      }
    }
    try {
      await jsm.consumers.info(STREAM_NAME, CONSUMER_NAME);
    } catch {
      await jsm.consumers
        .add(STREAM_NAME, { durable_name: CONSUMER_NAME, ack_policy: AckPolicy.Explicit, ack_wait: nanos(30_000), max_ack_pending: 1000 })
        .catch(async (e: unknown) => {
          await jsm.consumers.info(STREAM_NAME, CONSUMER_NAME).catch(() => {
            throw e;
          });
        });
    }
    const ing = new NatsIngestor(nc, nc.jetstream(), o.store, o.metrics, o.log);
    if (o.consume !== false) await ing.startConsumer();
    return ing;
  }

  private async startConsumer(): Promise<void> {
    const c = await this.js.consumers.get(STREAM_NAME, CONSUMER_NAME);
    this.msgs = await c.consume({ max_messages: 32 });
    this.loop = (async () => {
      for await (const m of this.msgs!) {
        if (this.stopping) {
          m.nak();
          continue;
        }
        try {
          const sensor = m.subject.slice(SUBJECT_PREFIX.length);
          const host = m.headers?.get('Vigil-Hostname') || null;
          // parsed like the stream parses it (64-bit integers exact; it was validated before publishing)
          const text = new TextDecoder().decode(m.data);
          const frame = parseClientFrame(text, Number.MAX_SAFE_INTEGER) as BatchFrame;
          await storeBatch(this.store, this.metrics, sensor, host, frame, text);
          m.ack();
        } catch (e) {
          this.log.warn({ err: (e as Error).message, subject: m.subject }, 'storing a JetStream batch failed; will be redelivered');
          m.nak(1000);
        }
      }
    })();
  }

  async submit(sensorId: string, hostname: string | null, batch: BatchFrame, frameText: string): Promise<void> {
    const h = headers();
    if (hostname) h.set('Vigil-Hostname', hostname);
    await this.js.publish(`${SUBJECT_PREFIX}${sensorId}`, new TextEncoder().encode(frameText), {
      msgID: `${sensorId}:${batch.first}-${batch.last}`,
      headers: h,
      timeout: 10_000,
    });
  }

  async close(): Promise<void> {
    this.stopping = true;
    try {
      await this.msgs?.close();
    } catch {
      /* closed */
    }
    await this.loop?.catch(() => undefined);
    await this.nc.drain().catch(() => undefined);
  }
}
