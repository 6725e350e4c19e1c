/**
 * `openpds operator …` / `npm run operator -- …`: parses the flags, runs the operator until SIGTERM or
 * SIGINT, then shuts down gracefully (drain, release the Lease). Resolves with the exit code.
 * Also runnable directly: `node --import tsx operator/src/cli-operator.ts --kubeconfig FILE`.
 */
import { explainListenError } from '../../api-server/src/shared/start-errors';
import { ConfigError, OPERATOR_USAGE, parseOperatorArgs } from './config';
import { runOperator, type ReconcilerRegistration } from './main';
import { defaultReconcilers } from './reconcilers/drive.registration';

export async function runOperatorCommand(argv: string[], extra: { reconcilers?: ReconcilerRegistration<any>[] } = {}): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(OPERATOR_USAGE);
    return 0;
  }
  let config;
  try {
    config = parseOperatorArgs(argv);
  } catch (error) {
    if (error instanceof ConfigError) {
      console.error(`openpds operator: ${error.message}`);
      return 2;
    }
    throw error;
  }
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
    if (error instanceof ConfigError) {
      console.error(`openpds operator: ${error.message}`);
      return 2;
    }
    // The health and metrics server's port: Node's "listen EADDRINUSE" named no flag.
    const listen = explainListenError(error, { port: config.metricsPort, portSetting: '--metrics-port' });
    if (listen !== error) {
      console.error(`openpds operator: ${(listen as Error).message}`);
      return 1;
    }
    const code = connectionFailure(error);
    if (!code) throw error;
    console.error(`openpds operator: cannot reach the Kubernetes API server ${(await kubeServer(config.kubeconfig)) ?? '(unknown)'}: ${code} (is the cluster running, and is it the kubeconfig's current context?)`);
    return 1;
  }
  console.error(JSON.stringify({ level: 'info', msg: 'metrics and health', url: operator.metricsUrl }));
  const onSignal = () => wake();
  process.once('SIGTERM', onSignal);
  process.once('SIGINT', onSignal);
  await stopped;
  process.off('SIGTERM', onSignal);
  process.off('SIGINT', onSignal);
  await operator.stop();
  return lost ? 1 : 0;
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
  runOperatorCommand(process.argv.slice(2), { reconcilers: defaultReconcilers() }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
