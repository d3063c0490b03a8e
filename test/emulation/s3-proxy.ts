import { randomUUID } from 'node:crypto';
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Iam, type IamCall } from './iam.ts';

/** What the proxy saw of an object written (for the emulated EventBridge "Object Created"). */
export interface ObjectCreated {
  bucket: string;
  key: string;
  size: number;
  etag: string;
  reason: string;
  requester: string;
}

/** One IAM check an S3 request needs. */
export interface S3Check {
  action: string;
  resource: string;
  context?: Record<string, string | string[]>;
}

/** The key id s3rver knows; every request is forwarded with it once IAM allowed it. */
export const S3RVER_KEY = 'S3RVER';

const objectArn = (bucket: string, key: string) => `arn:aws:s3:::${bucket}/${key}`;

function copySource(header: string): { bucket: string; key: string } {
  const path = decodeURIComponent(header.split('?')[0]).replace(/^\//, '');
  const slash = path.indexOf('/');
  return { bucket: path.slice(0, slash), key: path.slice(slash + 1) };
}

/**
 * The IAM actions an S3 REST request needs (the table of "Actions, resources and condition
 * keys for Amazon S3" for the operations the SDK sends). Anything not in it throws: the
 * emulation refuses to guess rather than let an unknown request through.
 */
export function s3Checks(method: string, bucket: string, key: string, query: URLSearchParams, headers: IncomingMessage['headers'], body: string): { operation: string; checks: S3Check[] } {
  const bucketArn = `arn:aws:s3:::${bucket}`;
  if (!bucket) throw new Error(`${method} / (ListBuckets) is not emulated`);
  if (!key) {
    if (method === 'GET' && query.has('uploads')) return { operation: 'ListMultipartUploads', checks: [{ action: 's3:ListBucketMultipartUploads', resource: bucketArn }] };
    if (method === 'GET' && query.has('versions')) return { operation: 'ListObjectVersions', checks: [{ action: 's3:ListBucketVersions', resource: bucketArn, context: { 's3:prefix': query.get('prefix') ?? '' } }] };
    if (method === 'GET' && query.has('location')) return { operation: 'GetBucketLocation', checks: [{ action: 's3:GetBucketLocation', resource: bucketArn }] };
    if (method === 'GET' && [...query.keys()].every((k) => ['list-type', 'prefix', 'delimiter', 'max-keys', 'continuation-token', 'start-after', 'marker', 'encoding-type', 'fetch-owner', 'x-id'].includes(k))) {
      const context: Record<string, string> = { 's3:prefix': query.get('prefix') ?? '' };
      if (query.has('delimiter')) context['s3:delimiter'] = query.get('delimiter')!;
      if (query.has('max-keys')) context['s3:max-keys'] = query.get('max-keys')!;
      return { operation: query.get('list-type') === '2' ? 'ListObjectsV2' : 'ListObjects', checks: [{ action: 's3:ListBucket', resource: bucketArn, context }] };
    }
    if (method === 'HEAD') return { operation: 'HeadBucket', checks: [{ action: 's3:ListBucket', resource: bucketArn }] };
    if (method === 'POST' && query.has('delete')) {
      const keys = [...body.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1].replace(/&lt;/g, '<').replace(/&gt;/g, '>').replace(/&quot;/g, '"').replace(/&apos;/g, "'").replace(/&amp;/g, '&'));
      return { operation: 'DeleteObjects', checks: keys.map((k) => ({ action: 's3:DeleteObject', resource: objectArn(bucket, k) })) };
    }
    throw new Error(`S3 request ${method} /${bucket}?${query} is not emulated`);
  }
  const arn = objectArn(bucket, key);
  const copy = headers['x-amz-copy-source'];
  switch (method) {
    case 'GET':
      if (query.has('uploadId')) return { operation: 'ListParts', checks: [{ action: 's3:ListMultipartUploadParts', resource: arn }] };
      if (query.has('tagging')) return { operation: 'GetObjectTagging', checks: [{ action: 's3:GetObjectTagging', resource: arn }] };
      if (query.has('attributes')) return { operation: 'GetObjectAttributes', checks: [{ action: 's3:GetObjectAttributes', resource: arn }] };
      return { operation: 'GetObject', checks: [{ action: query.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', resource: arn }] };
    case 'HEAD':
      return { operation: 'HeadObject', checks: [{ action: query.has('versionId') ? 's3:GetObjectVersion' : 's3:GetObject', resource: arn }] };
    case 'PUT': {
      if (query.has('tagging')) return { operation: 'PutObjectTagging', checks: [{ action: 's3:PutObjectTagging', resource: arn }] };
      const source = typeof copy === 'string' ? copySource(copy) : undefined;
      const read = source ? [{ action: 's3:GetObject', resource: objectArn(source.bucket, source.key) }] : [];
      if (query.has('partNumber') && query.has('uploadId')) return { operation: source ? 'UploadPartCopy' : 'UploadPart', checks: [...read, { action: 's3:PutObject', resource: arn }] };
      // Conditional writes (If-None-Match / If-Match) need s3:PutObject like any PutObject.
      return { operation: source ? 'CopyObject' : 'PutObject', checks: [...read, { action: 's3:PutObject', resource: arn }] };
    }
    case 'POST':
      if (query.has('uploads')) return { operation: 'CreateMultipartUpload', checks: [{ action: 's3:PutObject', resource: arn }] };
      if (query.has('uploadId')) return { operation: 'CompleteMultipartUpload', checks: [{ action: 's3:PutObject', resource: arn }] };
      break;
    case 'DELETE':
      if (query.has('uploadId')) return { operation: 'AbortMultipartUpload', checks: [{ action: 's3:AbortMultipartUpload', resource: arn }] };
      if (query.has('tagging')) return { operation: 'DeleteObjectTagging', checks: [{ action: 's3:DeleteObjectTagging', resource: arn }] };
      return { operation: 'DeleteObject', checks: [{ action: query.has('versionId') ? 's3:DeleteObjectVersion' : 's3:DeleteObject', resource: arn }] };
  }
  throw new Error(`S3 request ${method} /${bucket}/${key}?${query} is not emulated`);
}

const xmlEscape = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function s3Error(res: ServerResponse, method: string, status: number, code: string, message: string): void {
  const requestId = randomUUID().replace(/-/g, '').slice(0, 16).toUpperCase();
  res.writeHead(status, { 'content-type': 'application/xml', 'x-amz-request-id': requestId });
  // HEAD responses carry no body, on S3 as here: the SDK then names the error by the status.
  if (method === 'HEAD') return void res.end();
  res.end(`<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>${code}</Code><Message>${xmlEscape(message)}</Message><RequestId>${requestId}</RequestId><HostId>emulated</HostId></Error>`);
}

/** The access key id of a SigV4-signed request (header or presigned query). */
export function accessKeyOf(req: IncomingMessage, query: URLSearchParams): string | undefined {
  const auth = req.headers.authorization;
  const m = auth ? /Credential=([^/,\s]+)\//.exec(auth) : undefined;
  if (m) return m[1];
  return query.get('X-Amz-Credential')?.split('/')[0];
}

/** A running S3 front proxy. */
export interface S3Proxy {
  readonly endpoint: string;
  close(): Promise<void>;
}

/**
 * An S3 endpoint in front of s3rver that enforces IAM: it reads the SigV4 credential of each
 * request, maps the request to its IAM action(s) and resource ARN(s) ({@link s3Checks}), asks
 * {@link Iam} as the principal of that access key, and answers S3's own 403 AccessDenied when
 * any is denied; otherwise it forwards the request byte for byte to s3rver (with s3rver's key
 * in the credential: s3rver checks only that the key is one it knows). Successful writes are
 * reported to `onCreated`, as S3 sends "Object Created" to EventBridge. Requests with s3rver's
 * own key are the operator's (uploads, inspection): forwarded, not evaluated, not recorded.
 */
export async function startS3Proxy(options: { target: string; iam: Iam; onCreated: (o: ObjectCreated) => void; onDenied?: (call: IamCall) => void }): Promise<S3Proxy> {
  const target = new URL(options.target);
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      handle(req, res, Buffer.concat(chunks)).catch((err: unknown) => {
        if (!res.headersSent) s3Error(res, req.method ?? 'GET', 500, 'InternalError', `emulation: ${(err as Error).message}`);
        else res.destroy();
        process.stderr.write(`emulation: S3 proxy: ${(err as Error).stack}\n`);
      });
    });
  });

  async function handle(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://proxy');
    const method = req.method ?? 'GET';
    // Path style (/bucket/key) or virtual-hosted style (bucket.host/key).
    const host = String(req.headers.host ?? '');
    const hostBucket = /^([a-z0-9][a-z0-9.-]*)\.(127\.0\.0\.1|localhost)(:\d+)?$/.exec(host)?.[1];
    const path = url.pathname.replace(/^\//, '');
    const [bucket, ...rest] = hostBucket ? [hostBucket, path] : path.split('/');
    const key = decodeURIComponent((hostBucket ? path : rest.join('/')) ?? '');
    const query = url.searchParams;
    const keyId = accessKeyOf(req, query);
    let requester = 'operator';
    if (keyId !== S3RVER_KEY) {
      const principal = keyId ? options.iam.principalOfKey(keyId) : undefined;
      if (!principal) return s3Error(res, method, 403, 'InvalidAccessKeyId', `The AWS Access Key Id you provided (${keyId ?? 'none'}) does not exist in our records.`);
      requester = principal.logicalId;
      const { operation, checks } = s3Checks(method, decodeURIComponent(bucket), key, query, req.headers, body.toString('utf8'));
      for (const check of checks) {
        const call = await options.iam.authorize(principal, check.action, check.resource, `S3 ${operation}`, check.context);
        if (!call.allowed) {
          options.onDenied?.(call);
          return s3Error(res, method, 403, 'AccessDenied', Iam.deniedMessage(principal, call));
        }
      }
    }
    const headers = { ...req.headers, host: target.host };
    if (typeof headers.authorization === 'string') headers.authorization = headers.authorization.replace(/Credential=[^/,\s]+\//, `Credential=${S3RVER_KEY}/`);
    const forwardPath = hostBucket ? `/${bucket}${url.pathname}${url.search}` : `${url.pathname}${url.search}`;
    const upstream = await new Promise<IncomingMessage>((resolve, reject) => {
      const r = httpRequest({ host: target.hostname, port: target.port, method, path: forwardPath, headers }, resolve);
      r.on('error', reject);
      r.end(body);
    });
    const out: Buffer[] = [];
    for await (const c of upstream) out.push(c as Buffer);
    const responseBody = Buffer.concat(out);
    const status = upstream.statusCode ?? 500;
    const isWrite = (method === 'PUT' && !query.has('partNumber') && !query.has('tagging')) || (method === 'POST' && query.has('uploadId'));
    // S3 sends "Object Created" before the writer hears back here, so that whoever waits for the
    // emulation to be idle after a write also waits for what the event starts.
    if (status < 300 && key && isWrite) {
      const objectPath = hostBucket ? `/${bucket}${url.pathname}` : url.pathname;
      const head = await fetch(`${target.origin}${objectPath}`, { method: 'HEAD' }).catch(() => undefined);
      options.onCreated({
        bucket: decodeURIComponent(bucket),
        key,
        size: Number(head?.headers.get('content-length') ?? 0),
        etag: (head?.headers.get('etag') ?? '').replace(/"/g, ''),
        reason: method === 'POST' ? 'CompleteMultipartUpload' : req.headers['x-amz-copy-source'] ? 'CopyObject' : 'PutObject',
        requester,
      });
    }
    res.writeHead(status, upstream.headers);
    res.end(responseBody);
  }

  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
