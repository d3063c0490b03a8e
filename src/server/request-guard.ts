import { SimpairError } from '../errors.ts';
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';
import { PUBLIC_PAGE_TARGETS } from './page-routes.ts';

/** Host names every local server accepts, whatever address it is bound to. */
export const LOCAL_HOST_NAMES: readonly string[] = ['localhost', '127.0.0.1', '::1'];

/** Options of {@link createRequestGuard}. */
export interface RequestGuardOptions {
  /** The address the server is bound to (`--host`); accepted as a Host unless it is a wildcard. */
  readonly boundHost: string;
  /** More Host names to accept (`--allowed-host`), e.g. a name the machine is reached by. @default [] */
  readonly allowedHosts?: readonly string[];
  /** When set, every request needs `Authorization: Bearer <token>`. @default undefined (no token) */
  readonly token?: string;
}

/** A refusal: status, error name, message and extra headers. */
export interface Refusal {
  readonly statusCode: number;
  readonly error: string;
  readonly message: string;
  readonly headers?: Record<string, string>;
}

/** What the guard sees of a request. */
export interface GuardedRequest {
  readonly method: string;
  readonly headers: IncomingHttpHeaders;
  /** The request target as sent (`req.url`); the page's static files need no token. */
  readonly target?: string;
}

const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** Host name of a `Host` or `Origin` value, lower-case, without port, brackets or trailing dot. */
export function hostNameOf(value: string): string | undefined {
  let host = value.trim().toLowerCase();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//.exec(host);
  if (scheme) host = host.slice(scheme[0].length).split('/')[0];
  if (host.includes('@')) return undefined;
  if (/^[0-9a-f]*:[0-9a-f:.]*:[0-9a-f.]*$/.test(host)) return host; // a bare IPv6 address (options, not headers)
  const v6 = /^\[([0-9a-f:.]+)\](?::\d{1,5})?$/.exec(host);
  if (v6) return v6[1];
  const m = /^([a-z0-9._-]+?)\.?(?::\d{1,5})?$/.exec(host);
  return m ? m[1] : undefined;
}

function digest(s: string): Buffer {
  return createHash('sha256').update(s, 'utf8').digest();
}

/**
 * The checks `simpair serve` makes before routing a request, against cross-site requests and
 * DNS rebinding: the `Host` (and `Origin`, when sent) must be the bound address or a local
 * name (or one given with `--allowed-host`); with a token, `Authorization: Bearer <token>`
 * (compared in constant time); a request with a body, and every POST, must be
 * `Content-Type: application/json` (a web page can send `text/plain` cross-site without asking).
 * Returns a function answering a {@link Refusal}, or undefined to let the request through.
 *
 * @example
 * const guard = createRequestGuard({ boundHost: '127.0.0.1', token: process.env.SIMPAIR_TOKEN });
 * const refusal = guard({ method: req.method, headers: req.headers });
 */
export function createRequestGuard({ boundHost, allowedHosts = [], token }: RequestGuardOptions): (req: GuardedRequest) => Refusal | undefined {
  const bad = allowedHosts.filter((h) => h.trim() === '' || h.includes('*') || hostNameOf(h) === undefined);
  if (bad.length) {
    throw new SimpairError(`--allowed-host ${bad.map((h) => JSON.stringify(h)).join(', ')} is not a host name: give a name the server is reached by, e.g. --allowed-host myhost.local (no wildcards, no empty name).`);
  }
  const allowed = new Set([...LOCAL_HOST_NAMES, ...allowedHosts.map((h) => hostNameOf(h) ?? h.toLowerCase())]);
  const bound = hostNameOf(boundHost);
  if (bound && !WILDCARDS.has(bound)) allowed.add(bound);
  const expected = token === undefined ? undefined : digest(`Bearer ${token}`);
  const hint = `the server accepts Host ${[...allowed].join(', ')}; add a name with --allowed-host`;

  return ({ method, headers, target }) => {
    const host = headers.host;
    const hostName = typeof host === 'string' ? hostNameOf(host) : undefined;
    if (!hostName || !allowed.has(hostName)) {
      return { statusCode: 403, error: 'ForbiddenHost', message: `Host ${JSON.stringify(String(host ?? '').slice(0, 100))} is not served here; ${hint}.` };
    }
    const origin = headers.origin;
    if (origin !== undefined) {
      const originHost = hostNameOf(origin);
      if (!originHost || !allowed.has(originHost)) {
        return { statusCode: 403, error: 'ForbiddenOrigin', message: `Requests from origin ${JSON.stringify(origin.slice(0, 100))} are refused; ${hint}.` };
      }
    }
    // The page and its script hold no data: a browser must load them before it can send the token.
    const publicPage = method === 'GET' && target !== undefined && PUBLIC_PAGE_TARGETS.includes(target);
    if (expected && !publicPage) {
      // The scheme is case-insensitive (RFC 9110 11.1): "bearer x" is "Bearer x"; the token is compared as given.
      const given = typeof headers.authorization === 'string' ? headers.authorization.replace(/^bearer(?= )/i, 'Bearer') : headers.authorization;
      if (typeof given !== 'string' || !timingSafeEqual(digest(given), expected)) {
        return {
          statusCode: 401,
          error: 'Unauthorized',
          message: `${given === undefined ? 'Missing' : 'Wrong'} credentials: this server needs the header "Authorization: Bearer <token>" with the token it was started with (--token or SIMPAIR_TOKEN).`,
          headers: { 'www-authenticate': 'Bearer' },
        };
      }
    }
    const hasBody = headers['transfer-encoding'] !== undefined || (headers['content-length'] !== undefined && headers['content-length'] !== '0');
    if (hasBody || method === 'POST' || method === 'PUT' || method === 'PATCH') {
      const type = (headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
      if (type !== 'application/json') {
        return {
          statusCode: 415,
          error: 'UnsupportedMediaType',
          message: `Content-Type ${JSON.stringify((headers['content-type'] ?? '').slice(0, 100))} is not accepted; send the body as JSON with "Content-Type: application/json".`,
        };
      }
    }
    return undefined;
  };
}
