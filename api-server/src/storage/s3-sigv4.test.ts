/**
 * Header signing (the store's HEAD) against AWS's published S3 examples and, with a session token, against
 * the SDK's own signer (@smithy/signature-v4, what the S3 client signs with). Query presigning is compared
 * with getSignedUrl in s3-presigner.test.ts.
 */
import { SignatureV4 } from '@smithy/signature-v4';
import { createHash, createHmac } from 'node:crypto';
import { createSigV4Signer, encodeKeyPath, encodeRfc3986 } from './s3-sigv4';

// https://docs.aws.amazon.com/AmazonS3/latest/API/sig-v4-header-based-auth.html ("Examples")
const AWS_EXAMPLE = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
const AWS_EXAMPLE_DATE = new Date('2013-05-24T00:00:00Z');
const signer = createSigV4Signer({ region: 'us-east-1', service: 's3' });

test('the AWS examples "GET Bucket Lifecycle" and "Get Bucket (List Objects)"', () => {
  const host = 'examplebucket.s3.amazonaws.com';
  const lifecycle = signer.signHeaders({ method: 'GET', host, path: '/', query: { lifecycle: '' } }, AWS_EXAMPLE, AWS_EXAMPLE_DATE);
  expect(lifecycle.authorization).toBe(
    'AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, ' +
      'SignedHeaders=host;x-amz-content-sha256;x-amz-date, Signature=fea454ca298b7da1c68078a5d1bdbfbbe0d65c699e0f91ac7a200a0136783543',
  );
  const list = signer.signHeaders({ method: 'GET', host, path: '/', query: { 'max-keys': '2', prefix: 'J' } }, AWS_EXAMPLE, AWS_EXAMPLE_DATE);
  expect(list.authorization).toMatch(/, Signature=34b48302e7b5fa45bde8084f4b7868a86f0a534bc59db6670ed5711ef69dc6f7$/);
  expect(list).toMatchObject({ host, 'x-amz-date': '20130524T000000Z' });
});

test.each([
  ['static keys', { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'secret/with+chars' }],
  ['a session token', { accessKeyId: 'ASIAEXAMPLE', secretAccessKey: 'secret/with+chars', sessionToken: 'token//with+and=' }],
])('HEAD with %s signs as the SDK signer does', async (_name, credentials) => {
  const date = new Date('2024-05-01T12:34:56.789Z');
  const host = '127.0.0.1:7480';
  const path = `/bucket/${encodeKeyPath('unicode/Été 日本 a+b~c%d=e&f.jpg')}`;
  const ours = signer.signHeaders({ method: 'HEAD', host, path }, credentials, date);

  const sdkSigner = new SignatureV4({ credentials, region: 'us-east-1', service: 's3', sha256: NodeSha256, uriEscapePath: false, applyChecksum: false });
  const request = { method: 'HEAD', protocol: 'http:', hostname: '127.0.0.1', port: 7480, path, query: {}, headers: { host, 'x-amz-content-sha256': ours['x-amz-content-sha256']! } };
  const signed = await sdkSigner.sign(request, { signingDate: date });
  expect(ours).toEqual(signed.headers);
});

test('encoding: RFC 3986 unreserved characters only stay literal; key paths keep their slashes', () => {
  expect(encodeRfc3986("AZaz09-_.~ !'()*+/=&%é")).toBe('AZaz09-_.~%20%21%27%28%29%2A%2B%2F%3D%26%25%C3%A9');
  expect(encodeKeyPath('/a b//c+d/')).toBe('/a%20b//c%2Bd/');
});

/** The hash constructor the SDK's signer takes (the SDK passes @smithy/hash-node's, the same on Node). */
class NodeSha256 {
  private readonly hash;
  constructor(secret?: string | ArrayBuffer | ArrayBufferView) {
    this.hash = secret === undefined ? createHash('sha256') : createHmac('sha256', toBuffer(secret));
  }
  update(data: string | ArrayBuffer | ArrayBufferView): void {
    this.hash.update(toBuffer(data));
  }
  async digest(): Promise<Uint8Array> {
    return this.hash.digest();
  }
}

function toBuffer(data: string | ArrayBuffer | ArrayBufferView): Buffer {
  if (typeof data === 'string') return Buffer.from(data, 'utf8');
  if (ArrayBuffer.isView(data)) return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return Buffer.from(data);
}
