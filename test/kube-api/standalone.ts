import { startDeploymentRollouts } from './deployment-rollouts';
import { startKubeApiServer } from './server';

// `npm run kube-api -- --port PORT --kubeconfig FILE [--roll-out-deployments]`: serves until killed, for
// trying kubectl by hand. --roll-out-deployments reports every Deployment rolled out (no pod runs), as
// tests do, so a Domain gets as far as its /readyz probe (see the README's "Trying the operator").
function argument(name: string): string | undefined {
  const index = process.argv.indexOf(`--${name}`);
  return index >= 0 ? process.argv[index + 1] : undefined;
}

async function main(): Promise<void> {
  const port = Number(argument('port') ?? 0);
  const kubeconfig = argument('kubeconfig');
  const server = await startKubeApiServer({ port, onControllerError: (error) => console.error('controller:', error) });
  if (kubeconfig) await server.writeKubeconfig(kubeconfig);
  console.log(`kube-api test server listening on ${server.url}`);
  if (kubeconfig) console.log(`kubeconfig written to ${kubeconfig}: export KUBECONFIG=${kubeconfig}`);
  else console.log('no kubeconfig written: run it with --kubeconfig FILE (and --port PORT) to use kubectl and the operator against it');
  let stopRollouts: (() => Promise<void>) | undefined;
  if (process.argv.includes('--roll-out-deployments')) {
    if (!kubeconfig) throw new Error('--roll-out-deployments needs --kubeconfig FILE (it watches Deployments through it)');
    stopRollouts = await startDeploymentRollouts(kubeconfig);
    console.log('reporting every Deployment generation rolled out, all replicas available (no pods run)');
  }
  // Started with an IPC channel (the operator benchmark): answers 'request-counts' with hooks.requestCounts().
  process.on('message', (message) => {
    if (message === 'request-counts') process.send?.({ requestCounts: server.hooks.requestCounts() });
  });
  const stop = () => void (stopRollouts?.() ?? Promise.resolve()).then(() => server.close()).then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
