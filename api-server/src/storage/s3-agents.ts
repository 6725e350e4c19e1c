/**
 * Connection pools for the S3 store (the SDK's client and our own HEAD, s3-head.ts), whose connect timeout
 * covers only opening a connection: TCP, plus the TLS handshake for https.
 * Why not the SDK's `connectionTimeout`: @smithy/node-http-handler arms it when the request is created, so it
 * also counts the time spent queued for a free socket in the agent's pool. With every socket held by long
 * requests (streamed downloads, part uploads, seal copies), any further call failed after connectMs × 3
 * attempts and answered 503, where it should wait its turn. Here the timer starts in createConnection,
 * i.e. only once the pool has decided to open a socket for the request.
 */
import { Agent as HttpAgent, type AgentOptions } from 'node:http';
import { Agent as HttpsAgent } from 'node:https';
import type { Socket } from 'node:net';

/**
 * Connections per origin. Requests beyond it wait for a free one (no timeout counts that wait). Larger than
 * the SDK's 50: streamed downloads and part uploads hold theirs for as long as the transfer lasts.
 */
export const S3_MAX_SOCKETS = 256;

export interface S3Agents {
  http: HttpAgent;
  https: HttpsAgent;
}

export function createS3Agents({ connectMs, maxSockets = S3_MAX_SOCKETS }: { connectMs: number; maxSockets?: number }): S3Agents {
  // keepAlive as the SDK's default agents. Idle sockets are unref'd by Node, so they never hold the process.
  const options: AgentOptions = { keepAlive: true, maxSockets };
  return {
    http: withConnectTimeout(new HttpAgent(options), connectMs, 'connect'),
    https: withConnectTimeout(new HttpsAgent(options), connectMs, 'secureConnect'),
  };
}

/** Wraps agent.createConnection (called only when the pool opens a new socket) to arm the connect timer. */
function withConnectTimeout<A extends HttpAgent>(agent: A, connectMs: number, connectedEvent: 'connect' | 'secureConnect'): A {
  // Not in @types/node's Agent, but the documented hook every Agent calls to open a socket.
  const pool = agent as unknown as { createConnection: (...args: unknown[]) => Socket | undefined };
  const createConnection = pool.createConnection.bind(agent);
  pool.createConnection = (...args: unknown[]) => {
    const socket = createConnection(...args);
    if (!socket) return socket; // a custom callback-style creator; none here
    // Coded as Node's and the SDK's timeouts: the SDK names it TimeoutError and retries it, s3-head.ts
    // retries it, the error middleware answers 503 ServiceUnavailable.
    const timer = setTimeout(() => {
      socket.destroy(Object.assign(new Error(`S3: no connection within ${connectMs} ms`), { name: 'TimeoutError', code: 'ETIMEDOUT' }));
    }, connectMs);
    socket.once(connectedEvent, () => clearTimeout(timer));
    socket.once('close', () => clearTimeout(timer));
    return socket;
  };
  return agent;
}
