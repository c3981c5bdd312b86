// A JSON response made as chunks of text (views.ts), sent one chunk a turn of
// the event loop: a view of thousands of backends holds the loop for no longer
// than a chunk takes to write, so /healthz and changes go on between chunks.
import { Readable } from 'node:stream';
import type { FastifyReply } from 'fastify';

/** What the schema serializer's answers say they are. */
export const JSON_TYPE = 'application/json; charset=utf-8';

/**
 * Sends `chunks` (JSON text, in order) as application/json: as one text with
 * its length when there is only one chunk, else streamed (chunked encoding),
 * the next chunk made only once the one before is taken.
 */
export function sendJsonChunks(reply: unknown, chunks: Iterator<string, void>): FastifyReply {
  const r = (reply as FastifyReply).type(JSON_TYPE);
  const first = chunks.next();
  const second = first.done === true ? first : chunks.next();
  if (second.done === true) return r.send(first.done === true ? '' : first.value);
  const ready = [first.value as string, second.value];
  const stream = new Readable({
    read() {
      const next = ready.shift();
      if (next !== undefined) {
        this.push(next);
        return;
      }
      setImmediate(() => {
        let c: IteratorResult<string, void>;
        try {
          c = chunks.next();
        } catch (err) {
          // Headers are gone: the client sees the response cut short, never a partial JSON taken as whole.
          this.destroy(err as Error);
          return;
        }
        this.push(c.done === true ? null : c.value);
      });
    },
  });
  return r.send(stream);
}
