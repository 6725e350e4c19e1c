import { ConfigError, CONFIG_KEYS, configTable, loadConfig } from './config';

describe('config', () => {
  it('has embedded defaults: PGlite, local disk, port 8080, domain "default"', () => {
    const config = loadConfig({});
    expect(config).toMatchObject({ port: 8080, domainId: 'default', databaseUrl: '', storage: 'local', publicUrl: 'http://localhost:8080' });
    expect(config.dataDir).toMatch(/\.openpds$/);
  });

  it.each([
    [{ OPENPDS_PORT: 'eighty' }, 'OPENPDS_PORT must be an integer'],
    [{ OPENPDS_PORT: '70000' }, 'OPENPDS_PORT must be between 0 and 65535'],
    [{ OPENPDS_STORAGE: 'ftp' }, 'OPENPDS_STORAGE must be one of local, s3'],
    [{ OPENPDS_STORAGE: 's3' }, 'OPENPDS_S3_BUCKET is required'],
    [{ OPENPDS_DATABASE_URL: 'mysql://x' }, 'OPENPDS_DATABASE_URL must start with postgres://'],
    [{ OPENPDS_SECRET_KEY: 'short' }, 'at least 32 characters'],
    [{ OPENPDS_DOMAIN_ID: 'Bad_Domain' }, 'OPENPDS_DOMAIN_ID must be 1-63 lowercase'],
    [{ OPENPDS_S3_FORCE_PATH_STYLE: 'maybe' }, 'must be true or false'],
    [{ OPENPDS_PUBLIC_URL: 'not a url' }, 'OPENPDS_PUBLIC_URL must be a URL'],
  ])('refuses %j with a message naming the key', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('documents every key in the README table', () => {
    const table = configTable();
    for (const spec of Object.values(CONFIG_KEYS)) expect(table).toContain(`\`${spec.env}\``);
  });
});
