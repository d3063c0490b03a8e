import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A file the fake hub serves; `lfs` files are answered like Hugging Face's large files. */
export interface HubFile {
  readonly body: Buffer;
  readonly lfs?: boolean;
  /** Serve this digest instead of the real one (to test verification). */
  readonly wrongDigest?: boolean;
}

/**
 * A local HTTP server in the Hugging Face hub's layout: `/{repo}/resolve/{revision}/{path}`.
 * Small files answer 200 with the git blob sha1 as ETag; LFS files answer a HEAD/GET with a
 * 302 to a CDN path, carrying `X-Linked-Etag` (sha256) and `X-Linked-Size`, as the hub does.
 */
export async function startFakeHub(repos: Record<string, Record<string, HubFile>>): Promise<{
  url: string;
  requests: { method: string; path: string; auth?: string }[];
  server: Server;
  close: () => Promise<void>;
}> {
  const requests: { method: string; path: string; auth?: string }[] = [];
  const server = createServer((req: IncomingMessage, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push({ method: req.method ?? 'GET', path, auth: req.headers.authorization });
    const cdn = /^\/cdn\/(.+)$/.exec(path);
    if (cdn) {
      const [repo, file] = splitCdn(cdn[1]);
      const f = repos[repo]?.[file];
      if (!f) return void res.writeHead(404).end();
      res.writeHead(200, { 'content-length': f.body.length });
      return void res.end(req.method === 'HEAD' ? undefined : f.body);
    }
    const m = /^\/(.+?)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const f = m ? repos[m[1]]?.[m[3]] : undefined;
    if (!m || !f) {
      res.writeHead(404, { 'x-error-code': 'EntryNotFound' });
      return void res.end('Entry not found');
    }
    if (f.lfs) {
      const sha = f.wrongDigest ? '0'.repeat(64) : createHash('sha256').update(f.body).digest('hex');
      res.writeHead(302, {
        location: `/cdn/${m[1]}::${m[3]}`,
        'x-linked-etag': `"${sha}"`,
        'x-linked-size': String(f.body.length),
        etag: `"${sha}"`,
      });
      return void res.end();
    }
    const blob = createHash('sha1').update(`blob ${f.body.length}\0`).update(f.body).digest('hex');
    res.writeHead(200, { etag: `"${f.wrongDigest ? 'f'.repeat(40) : blob}"`, 'content-length': f.body.length });
    res.end(req.method === 'HEAD' ? undefined : f.body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    server,
    close: () =>
      new Promise<void>((r) => {
        server.close(() => r());
        server.closeAllConnections();
      }),
  };
}

function splitCdn(s: string): [string, string] {
  const i = s.indexOf('::');
  return [s.slice(0, i), s.slice(i + 2)];
}
