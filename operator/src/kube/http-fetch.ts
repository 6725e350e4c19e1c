/**
 * The small part of fetch the operator uses on data planes (/readyz, the admin API), over node:http(s)
 * with keep-alive agents: a status, the body as text, an AbortSignal. undici's fetch (WHATWG Request,
 * Headers, Response and streams per call) cost several times the CPU of the request itself, and a
 * reconcile that finds a Domain Ready makes three of them.
 *
 * Failures look like fetch's: a network error rejects with TypeError('fetch failed') whose `cause` is the
 * socket error (callers read cause.code), an abort rejects with the signal's reason.
 */
import http from 'node:http';
import https from 'node:https';

export interface HttpResponse {
  ok: boolean;
  status: number;
  text(): Promise<string>;
  /** A response header (name in any case), undefined when absent; repeated ones joined by ", ". */
  header(name: string): string | undefined;
}

export interface HttpInit {
  method?: string;
  headers?: Record<string, string>;
  body?: string;
  signal?: AbortSignal;
}

export type HttpFetch = (url: string, init?: HttpInit) => Promise<HttpResponse>;

export function createHttpFetch(options: { maxSockets?: number } = {}): HttpFetch {
  const agents = {
    'http:': new http.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 32 }),
    'https:': new https.Agent({ keepAlive: true, maxSockets: options.maxSockets ?? 32 }),
  };
  return (input, init = {}) =>
    new Promise<HttpResponse>((resolve, reject) => {
      const url = new URL(input);
      const secure = url.protocol === 'https:';
      if (!secure && url.protocol !== 'http:') return reject(new TypeError(`fetch failed: unsupported protocol ${url.protocol}`));
      const signal = init.signal;
      if (signal?.aborted) return reject(signal.reason);
      const headers: Record<string, string> = { ...init.headers };
      if (init.body !== undefined) headers['content-length'] = String(Buffer.byteLength(init.body));
      const send = (retry: boolean) => {
        const req = (secure ? https : http).request(url, { method: init.method ?? 'GET', headers, agent: agents[secure ? 'https:' : 'http:'] }, (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            signal?.removeEventListener('abort', onAbort);
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            const header = (name: string) => {
              const value = res.headers[name.toLowerCase()];
              return Array.isArray(value) ? value.join(', ') : value;
            };
            resolve({ ok: status >= 200 && status < 300, status, text: async () => text, header });
          });
          res.on('error', fail);
        });
        const onAbort = () => req.destroy(signal!.reason as Error);
        function fail(error: NodeJS.ErrnoException) {
          signal?.removeEventListener('abort', onAbort);
          if (signal?.aborted) return reject(signal.reason);
          // A kept-alive socket the server closed while idle fails on reuse before the request reached it:
          // the one case where sending again is always safe (what undici does too).
          if (retry && req.reusedSocket && (error.code === 'ECONNRESET' || error.code === 'EPIPE')) return send(false);
          reject(Object.assign(new TypeError('fetch failed'), { cause: error }));
        }
        signal?.addEventListener('abort', onAbort, { once: true });
        req.on('error', fail);
        req.end(init.body);
      };
      send(true);
    });
}
