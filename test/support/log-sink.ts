import { Writable } from 'node:stream';

/** A pino destination that keeps each JSON log line, for tests that read what a server logged (startServer's logDestination). */
export function logSink(): { lines: string[]; stream: Writable } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, stream };
}
