/**
 * The release version, read from package.json: the one place a release sets it. The API's OpenAPI
 * document, the image the operator deploys by default and the apply-set tooling stamp all follow it;
 * the YAML that cannot import it (the CRD's default image, the operator's Deployment) is held equal to it
 * by crds/crds.test.ts and config/config.test.ts.
 */
import packageJson from '../../package.json';

export const VERSION: string = packageJson.version;
