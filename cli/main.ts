/**
 * `openpds <command>`: one CLI for the data plane and (as they land) the operator.
 *
 * Each command loads only its own modules: `serve` must not carry the operator's cdk8s, Kubernetes client
 * and YAML libraries in its heap (measured: 40 MB of the API server's idle RSS). `require`, not `import()`:
 * run from source, bin/openpds.js compiles TypeScript through tsx's CommonJS hook, which dynamic import()
 * bypasses.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- lazy on purpose, see above */
import { ConfigError, configTable, DEFAULT_TERMINATION_MESSAGE_PATH } from '../api-server/src/config/config';
import { COMMAND_USAGE, isHelpFlag } from './command-usage';

/** The settings `openpds up` passes from its environment to its data planes. */
const PASSWORD_HASH_SETTINGS = ['OPENPDS_PASSWORD_HASH_MEMORY_KIB', 'OPENPDS_PASSWORD_HASH_ITERATIONS', 'OPENPDS_PASSWORD_HASH_LOW_COST_ACKNOWLEDGED'];
/** What a login costs is the user's to set for up's, plan's and apply's data planes, as for `openpds serve`. */
const dataPlaneEnv = () => Object.fromEntries(PASSWORD_HASH_SETTINGS.flatMap((name) => (process.env[name] ? [[name, process.env[name]!]] : [])));

const USAGE = `usage: openpds <command>

  serve        run the data plane (API server; embedded PGlite and local disk by default)
  worker       run a worker process: background jobs such as content hashing (needs PostgreSQL), health, metrics
  migrate      apply pending database migrations and exit
  jobs failed | retry-failed [--kind KIND]
               list the background jobs that used up their attempts, or queue them to run again
  admin reset-password [--user NAME] [--password-stdin]
               give the superadmin (or NAME) a new password and end its sessions (stop \`serve\` first on PGlite)
  config-docs  print the configuration table (markdown)
  operator     run the Kubernetes operator (Domains and Drives; \`openpds operator --help\` for flags)
  up -f DIR    run the Domains and Drives in DIR without a cluster (each Domain an in-process data plane)
  plan -f DIR  show what applying DIR would create, change or delete, terraform style:
                 against a cluster (--kubeconfig/--context or $KUBECONFIG): a server-side dry run of
                 every manifest, any kind; with --set NAME, objects of that apply set DIR lost are deletes
                 (a CustomResourceDefinition or Namespace only with --prune-cascading, which deletes all it holds)
                 against running domains (--endpoint NAME=URL, or --state DIR of \`openpds up\`): the Drives;
                 with --set NAME, drives of that set DIR lost are deletes or releases (per reclaimPolicy),
                 none while a manifest is invalid or a Drive fails; a renamed Drive keeps its drive (~ move)
                 in both modes, without --set nothing is deleted or released
  apply -f DIR apply DIR the same way (server-side apply, or the Drives through the admin API; pruning with --set);
                 with --state DIR, refused while an \`openpds up\` holds DIR (plan reads through that up instead)
                 \`openpds plan --help\` for every flag

Configuration comes from OPENPDS_* environment variables: run \`openpds config-docs\`.`;

/**
 * One full garbage collection once the server is up. Start-up leaves garbage V8 would otherwise keep
 * until its memory reducer runs on a long idle, or never on a server that is never quite idle: PGlite's
 * WebAssembly binary and file-system bundle read into buffers, module sources, the first requests'
 * objects (measured −10 to −17 MB idle RSS on PGlite, and steadier). `gc` is exposed to a fresh context
 * only, the server's own globals stay as they are.
 */
function collectStartupGarbage(): void {
  (require('node:v8') as typeof import('node:v8')).setFlagsFromString('--expose-gc');
  ((require('node:vm') as typeof import('node:vm')).runInNewContext('gc') as () => void)();
}

async function main(argv: string[]): Promise<number> {
  const [command] = argv;
  // Before anything runs: `serve --help` used to start a server. operator, up, plan, apply and admin read
  // their own --help (their usage lives with their flags).
  if (command && argv.slice(1).some(isHelpFlag)) {
    if (COMMAND_USAGE[command]) {
      console.log(COMMAND_USAGE[command]);
      return 0;
    }
    if (command === 'jobs') {
      console.log((require('../api-server/src/modules/jobs/jobs.command') as typeof import('../api-server/src/modules/jobs/jobs.command')).JOBS_USAGE);
      return 0;
    }
  }
  switch (command) {
    case 'serve': {
      const { startServer } = require('../api-server/src/main') as typeof import('../api-server/src/main');
      const running = await startServer(process.env, { routeProcessWarnings: true });
      // From the TypeScript sources, tsx compiles on a cache miss through an esbuild worker thread and
      // child process, which then idle for the life of the server (measured 16 MB RSS). Everything the
      // server needs is loaded now; a later lazy require that misses the cache starts them again. The
      // compiled dist/ (bin/openpds.js) never loads esbuild, and requiring it just to stop it would.
      if (__filename.endsWith('.ts')) void (require('esbuild') as typeof import('esbuild')).stop();
      collectStartupGarbage();
      const stop = async (signal: string) => {
        running.deps.logger.info({ signal }, 'shutting down');
        await running.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop('SIGTERM'));
      process.once('SIGINT', () => void stop('SIGINT'));
      return -1;
    }
    case 'worker': {
      const { startWorker } = require('../workers/src/main') as typeof import('../workers/src/main');
      const worker = await startWorker(process.env, { routeProcessWarnings: true });
      const stop = async () => {
        await worker.close();
        process.exit(0);
      };
      process.once('SIGTERM', () => void stop());
      process.once('SIGINT', () => void stop());
      return -1;
    }
    case 'migrate': {
      const { runMigrations } = require('../api-server/src/main') as typeof import('../api-server/src/main');
      // It logs JSON lines, its warnings and what it applied included.
      await runMigrations(process.env, { routeProcessWarnings: true });
      return 0;
    }
    case 'jobs': {
      const { openCommandDb } = require('../api-server/src/main') as typeof import('../api-server/src/main');
      const { runJobsCommand } = require('../api-server/src/modules/jobs/jobs.command') as typeof import('../api-server/src/modules/jobs/jobs.command');
      return runJobsCommand(argv.slice(1), { env: process.env, openDb: openCommandDb });
    }
    case 'admin': {
      const { openCommandDb } = require('../api-server/src/main') as typeof import('../api-server/src/main');
      const { runAdminCommand } = require('./admin-command') as typeof import('./admin-command');
      return runAdminCommand(argv.slice(1), { env: process.env, openDb: openCommandDb });
    }
    case 'operator': {
      const { runOperatorCommand } = require('../operator/src/cli-operator') as typeof import('../operator/src/cli-operator');
      const { defaultReconcilers } = require('../operator/src/reconcilers/drive.registration') as typeof import('../operator/src/reconcilers/drive.registration');
      return runOperatorCommand(argv.slice(1), { reconcilers: defaultReconcilers(), routeProcessWarnings: true });
    }
    case 'up':
      return (require('../operator/src/local/up-command') as typeof import('../operator/src/local/up-command')).runUpCommand(argv.slice(1), { dataPlaneEnv: dataPlaneEnv() });
    case 'plan':
      return (require('../operator/src/local/plan-command') as typeof import('../operator/src/local/plan-command')).runPlanCommand(argv.slice(1), { dataPlaneEnv: dataPlaneEnv() });
    case 'apply':
      return (require('../operator/src/local/plan-command') as typeof import('../operator/src/local/plan-command')).runApplyCommand(argv.slice(1), { dataPlaneEnv: dataPlaneEnv() });
    case 'config-docs':
      console.log(configTable());
      return 0;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      console.log(USAGE);
      return command ? 0 : 2;
    default:
      console.error(`openpds: unknown command "${command}"\n\n${USAGE}`);
      return 2;
  }
}

const JSON_LOG_COMMANDS = new Set(['serve', 'worker', 'migrate']);

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    // The long-running commands log JSON lines: their last words are one more (fatal-log-line.ts).
    if (JSON_LOG_COMMANDS.has(process.argv[2] ?? '')) {
      const { fatalLogLine, writeTerminationMessage } = require('../api-server/src/shared/fatal-log-line') as typeof import('../api-server/src/shared/fatal-log-line');
      process.stderr.write(`${fatalLogLine(err)}\n`);
      // On Kubernetes, what `kubectl describe pod` shows; read here, as a start can fail before its config loads.
      writeTerminationMessage(err, process.env.OPENPDS_TERMINATION_MESSAGE_PATH || DEFAULT_TERMINATION_MESSAGE_PATH);
    } else if (err instanceof ConfigError) console.error(`openpds: invalid configuration: ${err.message}`);
    else if (err instanceof Error && err.name.startsWith('StateDir')) console.error(`openpds: ${err.message}`); // a state dir's file, named with what to do
    else console.error('openpds:', err);
    process.exit(1);
  },
);
