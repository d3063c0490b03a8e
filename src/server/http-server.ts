import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { log } from '../util/log.ts';
import { routeApiRequest, type ApiBackend } from './api-router.ts';

/** Largest request body accepted, in bytes. */
const MAX_BODY_BYTES = 1 << 20;

/**
 * Serves the API on localhost with node:http. Resolves once listening; `port: 0` picks a free port.
 *
 * @example
 * const { server, port } = await startHttpServer(backend, { port: 3000 });
 */
export async function startHttpServer(backend: ApiBackend, { port = 3000, host = '127.0.0.1' }: { port?: number; host?: string } = {}): Promise<{ server: Server; port: number }> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        res.writeHead(413, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'PayloadTooLarge', message: `Body over ${MAX_BODY_BYTES} bytes; send fewer pairs per call.` }));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('end', async () => {
      if (res.writableEnded) return;
      const url = new URL(req.url ?? '/', 'http://localhost');
      const started = Date.now();
      const answer = await routeApiRequest(backend, req.method ?? 'GET', url.pathname, Buffer.concat(chunks).toString('utf8'));
      res.writeHead(answer.statusCode, answer.headers);
      res.end(answer.body);
      log('debug', `${req.method} ${url.pathname} ${answer.statusCode} ${Date.now() - started}ms`);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
