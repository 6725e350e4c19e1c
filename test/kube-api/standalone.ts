import { startKubeApiServer } from './server';

// `npm run kube-api -- --port PORT --kubeconfig FILE`: serves until killed, for trying kubectl by hand.
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
  const stop = () => void server.close().then(() => process.exit(0));
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
