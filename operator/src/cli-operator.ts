/**
 * `openpds operator …` / `npm run operator -- …`: parses the flags, runs the operator until SIGTERM or
 * SIGINT, then shuts down gracefully (drain, release the Lease). Resolves with the exit code.
 * Also runnable directly: `node --import tsx operator/src/cli-operator.ts --kubeconfig FILE`.
 */
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
  const operator = await runOperator({
    ...config,
    ...(extra.reconcilers ? { reconcilers: extra.reconcilers } : {}),
    onLostLeadership: () => {
      lost = true;
      wake();
    },
  });
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

if (require.main === module) {
  runOperatorCommand(process.argv.slice(2), { reconcilers: defaultReconcilers() }).then(
    (code) => process.exit(code),
    (error: unknown) => {
      console.error(error);
      process.exit(1);
    },
  );
}
