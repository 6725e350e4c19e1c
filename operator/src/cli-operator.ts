/**
 * `openpds operator …` / `npm run operator -- …`: parses the flags, runs the operator until SIGTERM or
 * SIGINT, then shuts down gracefully (drain, release the Lease). Resolves with the exit code.
 * Also runnable directly: `node --import tsx operator/src/cli-operator.ts --kubeconfig FILE`.
 */
import { DEFAULT_TERMINATION_MESSAGE_PATH } from '../../api-server/src/config/config';
import { writeTerminationText } from '../../api-server/src/shared/fatal-log-line';
import { routeProcessWarnings } from '../../api-server/src/shared/process-warnings';
import { explainListenError } from '../../api-server/src/shared/start-errors';
import { ConfigError, OPERATOR_USAGE, parseOperatorArgs } from './config';
import { runOperator, type ReconcilerRegistration } from './main';
import { defaultReconcilers } from './reconcilers/drive.registration';

/** routeProcessWarnings: Node's process warnings as the operator's JSON log lines (process-warnings.ts), set by `openpds operator`. */
export async function runOperatorCommand(
  argv: string[],
  extra: { reconcilers?: ReconcilerRegistration<any>[]; terminationMessagePath?: string; routeProcessWarnings?: boolean } = {},
): Promise<number> {
  // The command line is this process's boundary: where its environment is read.
  const terminationMessagePath = extra.terminationMessagePath ?? (process.env.OPENPDS_TERMINATION_MESSAGE_PATH || DEFAULT_TERMINATION_MESSAGE_PATH);
  /**
   * Prints why the operator stops and leaves it as its container's termination message, which `kubectl
   * describe pod` shows under Last State (as `serve` does, cli/main.ts): a crash-looping operator says why
   * without `kubectl logs --previous`. Answers `code`.
   */
  const stopping = (code: number, message: string): number => {
    console.error(`openpds operator: ${message}`);
    writeTerminationText(`openpds operator: ${message}`, terminationMessagePath);
    return code;
  };
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(OPERATOR_USAGE);
    return 0;
  }
  let config;
  try {
    config = parseOperatorArgs(argv);
  } catch (error) {
    if (error instanceof ConfigError) return stopping(2, error.message);
    throw error;
  }
  // In the shape of runOperator's log lines (main.ts), before its Kubernetes client is made.
  if (extra.routeProcessWarnings) routeProcessWarnings((fields, msg) => console.error(JSON.stringify({ level: 'warn', msg, ...fields })));
  let lost = false;
  let wake: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => (wake = resolve));
  let operator;
  try {
    operator = await runOperator({
      ...config,
      ...(extra.reconcilers ? { reconcilers: extra.reconcilers } : {}),
      onLostLeadership: () => {
        lost = true;
        wake();
      },
    });
  } catch (error) {
    // What a user gets wrong at start (the kubeconfig, the cluster it names) is one line, not a stack trace.
    if (error instanceof ConfigError) return stopping(2, error.message);
    // The health and metrics server's port: Node's "listen EADDRINUSE" named no flag.
    const listen = explainListenError(error, { port: config.metricsPort, portSetting: '--metrics-port' });
    if (listen !== error) return stopping(1, (listen as Error).message);
    const code = connectionFailure(error);
    if (!code) throw error;
    return stopping(1, `cannot reach the Kubernetes API server ${(await kubeServer(config.kubeconfig)) ?? '(unknown)'}: ${code} (is the cluster running, and is it the kubeconfig's current context?)`);
  }
  console.error(JSON.stringify({ level: 'info', msg: 'metrics and health', url: operator.metricsUrl }));
  const onSignal = () => wake();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await stopped;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  await operator.stop();
  // Exit 1 on a lost Lease, so the kubelet starts a clean replacement: said, so the restart is not a mystery.
  return lost ? stopping(1, 'lost leader election (the Lease was taken or could not be renewed): exiting so that a fresh process starts') : 0;
}

const CONNECTION_CODES = new Set(['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'EAI_AGAIN', 'EHOSTUNREACH', 'ENETUNREACH', 'ETIMEDOUT']);

/** The socket or TLS error code of a failed connection (on the error, or its cause as fetch puts it), else undefined. */
function connectionFailure(error: unknown): string | undefined {
  for (const e of [error, (error as { cause?: unknown } | undefined)?.cause]) {
    const code = (e as { code?: unknown } | undefined)?.code;
    if (typeof code === 'string' && (CONNECTION_CODES.has(code) || /CERT|SSL|TLS/.test(code))) return code;
  }
  return undefined;
}

/** The server of the kubeconfig's current context, to name it (read again: runOperator keeps its own to itself). */
async function kubeServer(file: string | undefined): Promise<string | undefined> {
  try {
    const k8s = await import('@kubernetes/client-node');
    const kubeConfig = new k8s.KubeConfig();
    if (file) kubeConfig.loadFromFile(file);
    else kubeConfig.loadFromDefault();
    return kubeConfig.getCurrentCluster()?.server;
  } catch {
    return undefined;
  }
}

if (require.main === module) {
  runOperatorCommand(process.argv.slice(2), { reconcilers: defaultReconcilers(), routeProcessWarnings: true }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
