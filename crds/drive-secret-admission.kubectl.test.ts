// `kubectl apply` against the Kubernetes API test server with the shipped CRDs: Drive quotas past the data
// plane's safe integers and empty or malformed Secret names are refused at admission, and a description
// counts characters (an emoji is one), as a real apiserver counts them; a drive name with a control or bidi
// override character is refused with the message kubectl shows.
import { kubectl } from '../test/operator/support/kubectl';
import { useCrdCluster } from '../test/operator/support/crd-cluster';

const drive = (name: string, spec: string) => `apiVersion: openpds.io/v1alpha1
kind: Drive
metadata: {name: ${name}, namespace: default}
spec: {domainRef: {name: acme}, owner: {kind: User, name: alice}${spec}}
`;
const domain = (name: string, spec: string) => `apiVersion: openpds.io/v1alpha1
kind: Domain
metadata: {name: ${name}, namespace: default}
spec:
${spec}
`;

describe('kubectl apply of Drives and Secret references the schema used to accept', () => {
  const { kubeconfig, apply } = useCrdCluster('openpds-drive-admission-');

  it('a Drive quota above 9007199254740991 bytes is refused with the rule; the largest safe size is admitted', async () => {
    for (const [name, size] of [['huge', '99999999999Pi'], ['one-over', '9007199254740993']] as const) {
      await expect(apply(drive(name, `, quota: {totalSize: "${size}"}`))).rejects.toThrow(
        `The Drive "${name}" is invalid: spec.quota.totalSize: Invalid value: "string": quota.totalSize must be at most 9007199254740991 bytes (just under 8Pi, the data plane's largest safe integer); use "0" for unlimited`,
      );
    }
    await expect(apply(drive('max', ', quota: {totalSize: "9007199254740991"}'))).resolves.toContain('created');
    const size = await kubectl(kubeconfig, ['explain', 'drive.spec.quota.totalSize']);
    expect(size.replace(/\s+/g, ' ')).toContain('At most 9007199254740991 bytes');
  });

  it('a description counts characters: 1024 emoji are admitted, 1025 are not', async () => {
    const emoji = '\u{1F4C1}';
    await expect(apply(drive('emoji', `, description: "a${emoji.repeat(1023)}"`))).resolves.toContain('created');
    await expect(apply(drive('emoji-long', `, description: "${emoji.repeat(1025)}"`))).rejects.toThrow(/spec\.description: Too long: may not be (longer|more) than 1024|must have at most 1024/);
  });

  it('a drive name with a control or bidi override character is refused, as the data plane would refuse it; right-to-left text is admitted', async () => {
    // YAML double quotes carry the escapes to kubectl as the characters themselves.
    for (const [name, display] of [['ansi', 'a\\u001b[2Jb'], ['spoof', 'evil\\u202egpj.exe']] as const) {
      await expect(apply(drive(name, `, name: "${display}"`))).rejects.toThrow(new RegExp(`The Drive "${name}" is invalid: spec\\.name: Invalid value: .*should match`));
    }
    await expect(apply(drive('rtl', ', name: "\u05ea\u05de\u05d5\u05e0\u05d5\u05ea\\u200f 2026"'))).resolves.toContain('created');
  });

  it('an empty or malformed Secret name is refused where it is written, not when the Deployment is applied', async () => {
    const volume = '  storage: {volume: {}}';
    await expect(apply(domain('db-empty', `${volume}\n  database: {urlSecretRef: {name: ""}}`))).rejects.toThrow('spec.database.urlSecretRef.name');
    await expect(apply(domain('db-upper', `${volume}\n  database: {urlSecretRef: {name: Acme_DB}}`))).rejects.toThrow('spec.database.urlSecretRef.name');
    await expect(apply(domain('db-key', `${volume}\n  database: {urlSecretRef: {name: db, key: ""}}`))).rejects.toThrow('spec.database.urlSecretRef.key');
    await expect(apply(domain('tls', `${volume}\n  ingress: {host: a.example, tlsSecretName: ""}`))).rejects.toThrow('spec.ingress.tlsSecretName');
    await expect(apply(domain('s3', `  storage: {s3: {bucket: b, credentialsSecretRef: {name: ""}}}\n  database: {urlSecretRef: {name: db}}`))).rejects.toThrow('spec.storage.s3.credentialsSecretRef.name');
    await expect(apply(domain('fine', `${volume}\n  database: {urlSecretRef: {name: acme.db-1}}\n  ingress: {host: a.example, tlsSecretName: acme-tls}`))).resolves.toContain('created');
  });
});
