// `vigil run --record FILE`: writes every event the sensor publishes on the bus to FILE as a
// recording (src/wire/recording: the compact binary 'vigil' format by default, `--record-format
// ndjson` for JSON lines), beside whatever goes to stdout (-q prints nothing). The writer is
// bounded: when the disk falls behind, events are dropped and counted in the sensor's user-space
// drops (`vigil status`) and in `record.status` on the control socket. The open block is written
// out every second, so a killed sensor loses about a second of events at most, and `vigil replay`
// reports such a cut file after replaying the events before the cut. Imported by the run loop
// (src/cli/run-sensor.ts) only when --record is given.
import type { ControlRegistry, RunContext, SensorHandle } from '../runtime/index.ts';
import { openRecordingWriter, type RecordingFormat, type RecordingWriter } from '../wire/recording/index.ts';

/** How often a partly filled block is written out. */
const FLUSH_MS = 1000;

export interface Recorder {
  readonly writer: RecordingWriter;
  /** registers `record.status` on the control socket */
  serve(control: ControlRegistry | undefined): void;
  /** writes the open block and the end marker, closes the file */
  close(): Promise<void>;
}

/** Opens FILE (a VIGIL_E_IO error before the sensor starts when it cannot) and subscribes to the events. */
export async function startRecorder(ctx: RunContext<SensorHandle>, file: string, format: RecordingFormat): Promise<Recorder> {
  const w = await openRecordingWriter(file, format);
  const sensor = ctx.sensor;
  ctx.bus.subscribe('event', (ev) => {
    if (!w.write(ev)) sensor.countDrop();
  });
  let reported = false;
  const timer = setInterval(() => {
    w.flush();
    if (w.error && !reported) {
      reported = true;
      ctx.log.error(`${w.error.message}: later events are dropped and counted`);
    }
  }, FLUSH_MS);
  timer.unref();
  return {
    writer: w,
    serve(control) {
      control?.register('record.status', () => ({ file, format: w.format, ...w.stats, error: w.error?.message }));
    },
    async close() {
      clearInterval(timer);
      await w.close();
    },
  };
}
