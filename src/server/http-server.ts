import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { SimpairError } from '../errors.ts';
import { log } from '../util/log.ts';
import { errorResponse, routeApiRequest, type ApiBackend, type ApiResponse } from './api-router.ts';
import { createRequestGuard } from './request-guard.ts';
import { requestPath } from './request-target.ts';

/** Largest request body accepted, in bytes. */
const MAX_BODY_BYTES = 1 << 20;

/** Options of {@link startHttpServer}. */
export interface HttpServerOptions {
  /** 0 picks a free port. @default 3000 */
  readonly port?: number;
  /** Address to bind. @default '127.0.0.1' */
  readonly host?: string;
  /** Host names accepted besides the bound address and localhost names. @default [] */
  readonly allowedHosts?: readonly string[];
  /** When set, requests need `Authorization: Bearer <token>`. @default undefined */
  readonly token?: string;
  /**
   * Paths of this machine never shown to callers: each (and anything under it) is replaced by
   * its label in every answer, e.g. the store's directory by `<store>`. @default {}
   */
  readonly hidePaths?: Readonly<Record<string, string>>;
}

/** A running server and what it is busy with. */
export interface RunningHttpServer {
  readonly server: Server;
  readonly port: number;
  /** Requests being answered right now. */
  inFlight(): number;
  /** Stops accepting connections, closes idle ones, and resolves once every answer is sent. */
  close(): Promise<void>;
}

class PayloadTooLarge extends SimpairError {
  constructor(path?: string) {
    super(
      path === '/datasets'
        ? `Body over ${MAX_BODY_BYTES} bytes: a dataset uploaded through the page is at most that; copy a larger file into the store's datasets/ folder (or the bucket's) instead.`
        : `Body over ${MAX_BODY_BYTES} bytes; send fewer pairs per call.`,
    );
    this.name = 'PayloadTooLarge';
  }
}

function send(res: ServerResponse, answer: ApiResponse, requestId: string, hide: readonly [string, string][] = []): void {
  if (res.headersSent || res.destroyed) return;
  if (hide.length && answer.headers['content-type']?.startsWith('application/json')) {
    let body = answer.body;
    for (const [path, label] of hide) body = body.split(path).join(label);
    answer = { ...answer, body };
  }
  res.writeHead(answer.statusCode, { ...answer.headers, 'content-length': String(Buffer.byteLength(answer.body)), 'x-request-id': requestId });
  res.end(answer.body);
}

function refuse(statusCode: number, error: string, message: string, requestId: string, headers: Record<string, string> = {}): ApiResponse {
  return { statusCode, headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ error, message, requestId }) };
}

function readBody(req: IncomingMessage, path?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY_BYTES) {
        req.removeAllListeners('data');
        req.resume();
        reject(new PayloadTooLarge(path));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
    req.on('aborted', () => reject(new Error('request aborted by the client')));
  });
}

/**
 * Serves the API with node:http. Resolves once listening; `port: 0` picks a free port.
 * No request can take the server down: the request target is parsed defensively (odd paths
 * such as `//` are a 400), every handler error becomes a JSON answer carrying a request id
 * (`x-request-id`), and the guard ({@link createRequestGuard}) refuses foreign hosts and
 * origins, missing tokens and non-JSON bodies before anything is routed.
 *
 * @throws SimpairError when the port is in use or cannot be bound.
 * @example
 * const { port, close } = await startHttpServer(backend, { port: 3000, token: process.env.SIMPAIR_TOKEN });
 */
export async function startHttpServer(backend: ApiBackend, options: HttpServerOptions = {}): Promise<RunningHttpServer> {
  const { port = 3000, host = '127.0.0.1', allowedHosts = [], token } = options;
  // Longest first, so a path inside another is replaced by its own label; as JSON spells them.
  const hide = Object.entries(options.hidePaths ?? {})
    .filter(([path]) => path.length > 1)
    .sort((a, b) => b[0].length - a[0].length)
    .map(([path, label]) => [JSON.stringify(path).slice(1, -1), JSON.stringify(label).slice(1, -1)] as [string, string]);
  const guard = createRequestGuard({ boundHost: host, allowedHosts, token });
  let active = 0;

  async function handle(req: IncomingMessage, res: ServerResponse, requestId: string): Promise<void> {
    const method = req.method ?? 'GET';
    const refusal = guard({ method, headers: req.headers, target: req.url });
    if (refusal) {
      req.resume();
      res.setHeader('connection', 'close');
      return send(res, refuse(refusal.statusCode, refusal.error, refusal.message, requestId, refusal.headers), requestId);
    }
    const declared = Number(req.headers['content-length'] ?? 0);
    if (declared > MAX_BODY_BYTES) {
      req.resume();
      res.setHeader('connection', 'close');
      const tooLarge = new PayloadTooLarge((() => { try { return requestPath(req.url); } catch { return undefined; } })());
      return send(res, refuse(413, tooLarge.name, tooLarge.message, requestId), requestId);
    }
    const path = requestPath(req.url);
    const body = await readBody(req, path);
    const started = Date.now();
    const answer = await routeApiRequest(backend, method, path, body, requestId);
    send(res, answer, requestId, hide);
    log('debug', `${method} ${path} ${answer.statusCode} ${Date.now() - started}ms`, { requestId });
  }

  const server = createServer((req, res) => {
    const requestId = randomUUID();
    active++;
    res.on('close', () => active--);
    req.on('error', () => undefined); // a client that goes away mid-body is not the server's problem
    res.on('error', () => undefined);
    handle(req, res, requestId).catch((err: unknown) => {
      if (err instanceof PayloadTooLarge) res.setHeader('connection', 'close');
      if (!res.headersSent && !res.destroyed) send(res, err instanceof PayloadTooLarge ? refuse(413, err.name, err.message, requestId) : errorResponse(err, requestId), requestId);
      else res.destroy();
    });
  });
  // A client may close its sending side once the request is out (shutdown(SHUT_WR), as raw
  // clients and some proxies do): answer it anyway. Node's default ends the socket at the
  // client's FIN, dropping any answer still being computed (an ONNX Runtime run is async).
  // httpAllowHalfOpen is Node's own http.Server property (lib/_http_server.js), absent from @types/node.
  (server as typeof server & { httpAllowHalfOpen: boolean }).httpAllowHalfOpen = true;
  // Requests node's parser refuses (bad request line, header overflow) never reach the handler:
  // answer 400 and close, without a stack in the log.
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Socket) => {
    if (err.code === 'ECONNRESET' || !socket.writable) return void socket.destroy();
    const requestId = randomUUID();
    const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
    const body = JSON.stringify({ error: 'BadRequest', message: `Malformed HTTP request (${err.code ?? 'parse error'}).`, requestId });
    socket.end(`HTTP/1.1 ${status} Bad Request\r\ncontent-type: application/json\r\ncontent-length: ${Buffer.byteLength(body)}\r\nx-request-id: ${requestId}\r\nconnection: close\r\n\r\n${body}`);
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'EADDRINUSE') {
        reject(new SimpairError(`Port ${port} on ${host} is already in use by another process; stop it or pick another port with --port N (--port 0 picks a free one).`, { cause: err }));
      } else if (err.code === 'EACCES') {
        reject(new SimpairError(`Not allowed to listen on port ${port} of ${host} (ports below 1024 need privileges); pick another with --port N.`, { cause: err }));
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND') {
        reject(new SimpairError(`Cannot bind to ${host}: it is not an address of this machine; pass --host 127.0.0.1 or one of its addresses.`, { cause: err }));
      } else {
        reject(err);
      }
    });
    server.listen(port, host, () => resolve());
  });
  server.on('error', (err) => log('error', `server: ${err.message}`));
  return {
    server,
    port: (server.address() as AddressInfo).port,
    inFlight: () => active,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeIdleConnections();
      }),
  };
}
