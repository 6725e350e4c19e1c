/**
 * Requests Node's HTTP parser refuses before any route sees them (headers over its 16 KiB limit: a long
 * query string or Range header; an unknown method such as `FOO`; malformed request lines or headers;
 * headers not received within the headers timeout). Node answered them itself with a bare status line and
 * an empty body (431, 400, 408), the one kind of answer without the API's `{code, message, request_id}`
 * (red team, bad input). Answered here the same way Node decides, with a JSON body, then closed: after a
 * parse error nothing more can be read from the connection.
 */
import { randomUUID } from 'node:crypto';
import { STATUS_CODES, type Server } from 'node:http';
import type { Duplex } from 'node:stream';

interface ClientErrorAnswer {
  status: number;
  code: string;
  message: string;
}

/** What a parser error answers, as Node's own socketOnError picks the status. */
export function clientErrorAnswer(errorCode: string | undefined): ClientErrorAnswer {
  switch (errorCode) {
    case 'HPE_HEADER_OVERFLOW':
      return { status: 431, code: 'InvalidParameter.Headers', message: 'the request line and headers are too large (at most 16 KiB): shorten the query string or headers' };
    case 'HPE_CHUNK_EXTENSIONS_OVERFLOW':
      return { status: 413, code: 'InvalidParameter.Body', message: 'the chunk extensions of the request body are too large' };
    case 'ERR_HTTP_REQUEST_TIMEOUT':
      return { status: 408, code: 'RequestTimeout.Headers', message: 'the request headers did not arrive in time' };
    case 'HPE_INVALID_METHOD':
      return { status: 400, code: 'InvalidParameter.Method', message: 'the request method is not one HTTP knows' };
    default:
      return { status: 400, code: 'InvalidParameter.Request', message: 'the request is not well-formed HTTP/1.1' };
  }
}

/** The raw HTTP/1.1 response for `answer` (the socket is closed after it). */
export function clientErrorResponse(answer: ClientErrorAnswer, requestId: string = randomUUID()): string {
  const body = JSON.stringify({ code: answer.code, message: answer.message, request_id: requestId });
  return [
    `HTTP/1.1 ${answer.status} ${STATUS_CODES[answer.status] ?? ''}`,
    'Content-Type: application/json; charset=utf-8',
    `Content-Length: ${Buffer.byteLength(body)}`,
    `X-Request-Id: ${requestId}`,
    'Connection: close',
    '',
    body,
  ].join('\r\n');
}

export function answerClientErrors(server: Server): void {
  server.on('clientError', (error: NodeJS.ErrnoException, socket: Duplex) => {
    // As Node does: answer only when nothing of a response is on this connection yet (a parse error in a
    // pipelined request behind one being answered must not cut into that answer's bytes).
    const inFlight = (socket as Duplex & { _httpMessage?: { headersSent?: boolean } })._httpMessage;
    if (error.code !== 'ECONNRESET' && socket.writable && !inFlight?.headersSent) {
      socket.end(clientErrorResponse(clientErrorAnswer(error.code)));
      // end() flushes the answer; a client that does not read it is cut by the idle timeout (server-timeouts.ts).
      socket.once('finish', () => socket.destroy());
      return;
    }
    socket.destroy();
  });
}
