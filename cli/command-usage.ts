/**
 * `openpds <command> --help` for the commands whose modules take no arguments of their own. Without it,
 * `serve --help` started a server (creating ./.openpds and printing a new superadmin password) and
 * `migrate --help` migrated: a help flag must never have side effects.
 */
const CONFIG = 'Configuration comes from OPENPDS_* environment variables: run `openpds config-docs` for the table.';

export const COMMAND_USAGE: Record<string, string> = {
  serve: `usage: openpds serve

Runs the data plane (the API server) until SIGTERM or SIGINT. By default on the embedded PGlite database
and local disk under ./.openpds (OPENPDS_DATA_DIR), on port 8080 (OPENPDS_PORT); the first start creates the
superadmin "admin" and prints its password once (\`openpds admin reset-password\` sets a new one).
${CONFIG}`,
  worker: `usage: openpds worker

Runs a worker process: the domain's background jobs (content hashing), with /healthz, /readyz and /metrics
on OPENPDS_PORT. Needs the shared PostgreSQL (OPENPDS_DATABASE_URL) and blob store of the data plane.
${CONFIG}`,
  migrate: `usage: openpds migrate

Applies the pending database migrations (OPENPDS_DATABASE_URL, or the embedded database under
OPENPDS_DATA_DIR) and exits; waits up to OPENPDS_DB_START_TIMEOUT_SECONDS for a PostgreSQL not reachable yet.
${CONFIG}`,
  'config-docs': `usage: openpds config-docs

Prints the configuration table (every OPENPDS_* variable, its default and meaning) as markdown.`,
};

export const isHelpFlag = (arg: string): boolean => arg === '--help' || arg === '-h';
