/**
 * The one line `serve`, `worker` and `migrate` print when they cannot start, in the shape of the pino lines
 * around it (level 60 is pino's fatal): a log pipeline that reads the pod's output as JSON lines gets it
 * as a record with a code, not as the dozen lines of a stack trace and a driver's error object that
 * `console.error(err)` printed (red team). No stack: the message says what to fix.
 */
import { ConfigError } from '../config/config';

export function fatalLogLine(err: unknown, now: () => number = Date.now): string {
  const e = err as { code?: unknown; reason?: unknown; message?: unknown; cause?: unknown } | null;
  const message = typeof e?.message === 'string' ? e.message : String(err);
  const code =
    err instanceof ConfigError
      ? typeof e?.reason === 'string'
        ? `${err.name.replace(/Error$/, '')}.${e.reason}`
        : 'InvalidConfiguration'
      : typeof e?.code === 'string'
        ? e.code
        : err instanceof Error && err.name !== 'Error'
          ? err.name
          : 'InternalError';
  const msg = err instanceof ConfigError ? `openpds: invalid configuration: ${message}` : `openpds: cannot start: ${message}`;
  return JSON.stringify({ level: 60, time: now(), msg, code });
}
