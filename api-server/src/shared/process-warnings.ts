/**
 * Node's process warnings (process.emitWarning: deprecations, experimental features, the AWS SDK's
 * NodeVersionSupportWarning on its first S3 client) as log lines of the process's own JSON logger. Node
 * prints each as a multi-line `(node:123) Warning: …` block on stderr, which a log pipeline reading the
 * pod's output as JSON lines cannot parse.
 *
 * Node installs that printer (its `onWarning`) as a 'warning' listener at start, unless NODE_NO_WARNINGS=1
 * or --no-warnings: then there is none and nothing is routed either, so the user's choice holds. The
 * printer's other filters are kept: --disable-warning (a code or a type), --no-deprecation, a warning that
 * is not an Error; --trace-warnings and --trace-deprecation add the stack. With --redirect-warnings (or
 * NODE_REDIRECT_WARNINGS) Node writes them to that file, not to the log: left to Node. Each 'warning'
 * event is one line: who emits decides repeats, as with Node's printer (util.deprecate emits each code once).
 */

/** The fields of a warning's line besides `msg` (the warning's message, as it is). */
export interface WarningFields {
  warning: { name: string; code?: string; detail?: string; stack?: string };
}

export type WarningLog = (fields: WarningFields, msg: string) => void;

/** The part of `process` this reads and changes (a stand-in in the unit tests). */
export interface WarningProcess {
  listeners(event: 'warning'): Function[];
  on(event: 'warning', listener: (warning: Error) => void): unknown;
  off(event: 'warning', listener: Function): unknown;
  execArgv: string[];
  env: Record<string, string | undefined>;
  noDeprecation?: boolean;
  traceDeprecation?: boolean;
  traceProcessWarnings?: boolean;
}

/** The name of the listener Node's bootstrap adds (lib/internal/process/warning.js). */
const NODE_PRINTER_NAME = 'onWarning';

/**
 * Sends every warning Node would print to `log` instead, and removes Node's printer. Answers a function
 * that puts Node's printer back; a no-op when nothing was changed (no printer to replace, redirected
 * warnings, or already routed: a second call never logs a warning twice).
 */
export function routeProcessWarnings(log: WarningLog, proc: WarningProcess = process): () => void {
  const nodePrinter = proc.listeners('warning').find((listener) => listener.name === NODE_PRINTER_NAME);
  const flags = nodeFlags(proc);
  if (!nodePrinter || proc.env.NODE_REDIRECT_WARNINGS || flags.some((flag) => flag === '--redirect-warnings' || flag.startsWith('--redirect-warnings='))) return () => undefined;
  const disabled = new Set(flagValues(flags, '--disable-warning'));
  const onWarning = (warning: Error & { code?: unknown; detail?: unknown }) => {
    if (!(warning instanceof Error)) return;
    if ((typeof warning.code === 'string' && disabled.has(warning.code)) || disabled.has(warning.name)) return;
    const isDeprecation = warning.name === 'DeprecationWarning';
    if (isDeprecation && proc.noDeprecation) return;
    const trace = proc.traceProcessWarnings || (isDeprecation && proc.traceDeprecation);
    const fields: WarningFields = { warning: { name: warning.name } };
    if (typeof warning.code === 'string') fields.warning.code = warning.code;
    if (typeof warning.detail === 'string') fields.warning.detail = warning.detail;
    if (trace && warning.stack) fields.warning.stack = warning.stack;
    log(fields, warning.message);
  };
  proc.on('warning', onWarning);
  proc.off('warning', nodePrinter);
  return () => {
    proc.off('warning', onWarning);
    if (!proc.listeners('warning').includes(nodePrinter)) proc.on('warning', nodePrinter as (warning: Error) => void);
  };
}

/** Node's flags: the command line's, then NODE_OPTIONS' (split at spaces; quoted values are rare in these). */
function nodeFlags(proc: WarningProcess): string[] {
  return [...proc.execArgv, ...(proc.env.NODE_OPTIONS ?? '').split(/\s+/).filter(Boolean)].map((arg) => (arg.startsWith('--') ? arg.replace(/^(--[^=]*)/, (name) => name.replaceAll('_', '-')) : arg));
}

/** Every value of `--name=value` and `--name value`. */
function flagValues(flags: string[], name: string): string[] {
  return flags.flatMap((flag, i) => (flag.startsWith(`${name}=`) ? [flag.slice(name.length + 1)] : flag === name && flags[i + 1] !== undefined ? [flags[i + 1]!] : []));
}
