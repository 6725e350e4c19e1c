import type { IncomingMessage, ServerResponse } from 'node:http';
import { KubeApiError } from './status';

// Request bodies and JSON responses. Bodies are read whole (the apiserver caps them at 3 MiB as well).
const MAX_BODY_BYTES = 3 * 1024 * 1024;

export async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new KubeApiError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728');
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

export function sendJson(res: ServerResponse, status: number, body: unknown, warnings: string[] = []): void {
  sendJsonText(res, status, JSON.stringify(body), warnings);
}

/** sendJson of a body already serialised. */
export function sendJsonText(res: ServerResponse, status: number, payload: string, warnings: string[] = []): void {
  const headers: Record<string, string | string[]> = { 'Content-Type': 'application/json', 'Content-Length': String(Buffer.byteLength(payload)) };
  if (warnings.length > 0) headers.Warning = warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(status, headers);
  res.end(payload);
}

export function sendError(res: ServerResponse, error: unknown): void {
  const apiError = error instanceof KubeApiError ? error : new KubeApiError(500, 'InternalError', `Internal error occurred: ${(error as Error)?.message ?? String(error)}`);
  if (res.headersSent) {
    res.destroy();
    return;
  }
  const retryAfter = apiError.details?.retryAfterSeconds;
  if (retryAfter !== undefined) res.setHeader('Retry-After', String(retryAfter));
  sendJson(res, apiError.code, apiError.toStatus());
}
