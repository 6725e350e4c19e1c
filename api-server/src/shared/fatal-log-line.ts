/**
 * The one line `serve`, `worker` and `migrate` print when they cannot start, in the shape of the pino lines
 * around it (level 60 is pino's fatal): a log pipeline that reads the pod's output as JSON lines gets it
 * as a record with a code, not as the dozen lines of a stack trace and a driver's error object that
 * `console.error(err)` printed (red team). No stack: the message says what to fix.
 */
import fs from 'node:fs';
import { ConfigError } from '../config/config';

/** The kubelet keeps at most this many bytes of a termination message. */
const TERMINATION_MESSAGE_MAX_BYTES = 4096;

export function fatalLogLine(err: unknown, now: () => number = Date.now): string {
  return JSON.stringify({ level: 60, time: now(), ...fatalRecord(err) });
}

/**
 * The same words as the container's termination message, which `kubectl describe pod` shows under Last
 * State and `kubectl get pod -o yaml` in the container's status: a data plane that exits at start (a store
 * another installation claims, a bad setting) says why without `kubectl logs`, whose earlier lines a crash
 * loop soon pushes out. Written only where the file exists (the kubelet creates it in every container), so
 * nothing is created outside Kubernetes; never throws, and never keeps the process from exiting.
 */
export function writeTerminationMessage(err: unknown, path: string): boolean {
  const { msg, code } = fatalRecord(err);
  return writeTerminationText(`${code}: ${msg}`, path);
}

/** writeTerminationMessage's file write, for a process that says why it stops in its own words (`openpds operator`). */
export function writeTerminationText(message: string, path: string): boolean {
  const whole = Buffer.from(message);
  // The kubelet keeps the first 4096 bytes: cut at a character, not inside one, and say it was cut.
  const text = whole.length <= TERMINATION_MESSAGE_MAX_BYTES ? whole.toString() : `${whole.subarray(0, TERMINATION_MESSAGE_MAX_BYTES - 3).toString().replace(/\uFFFD$/, '')}…`;
  try {
    fs.writeFileSync(path, text, { flag: 'r+' }); // r+: an existing file only
    fs.truncateSync(path, Buffer.byteLength(text));
    return true;
  } catch {
    return false; // not in a Kubernetes container, or no right to write there: the log line is enough
  }
}

function fatalRecord(err: unknown): { msg: string; code: string } {
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
  return { msg, code };
}
