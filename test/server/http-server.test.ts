import { createServer } from 'node:net';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { ApiBackend } from '../../src/server/api-router.ts';
import { startHttpServer } from '../../src/server/http-server.ts';
import { rawJson, rawRequest } from '../helpers/raw-http.ts';

const PAIRS = JSON.stringify({ pairs: [{ sentence1: 'a b', sentence2: 'c d' }] });

function fakeBackend(): ApiBackend & { predict: ReturnType<typeof vi.fn> } {
  return { predict: vi.fn(async (pairs: unknown[]) => pairs.map(() => ({ probability: 0.75, similar: true }))) };
}

type Started = Awaited<ReturnType<typeof startHttpServer>>;
const started: Started[] = [];
async function serve(backend: ApiBackend, options: Parameters<typeof startHttpServer>[1] = {}) {
  const s = await startHttpServer(backend, { port: 0, ...options });
  started.push(s);
  const url = `http://127.0.0.1:${s.port}`;
  return { ...s, url };
}
afterAll(async () => {
  for (const s of started) {
    s.server.closeAllConnections();
    await new Promise((r) => s.server.close(r));
  }
});

describe('startHttpServer: odd request targets', () => {
  let backend: ReturnType<typeof fakeBackend>;
  let port: number;
  beforeAll(async () => {
    backend = fakeBackend();
    ({ port } = await serve(backend));
  });

  it.each(['//', '//%zz/', '//a:b@/', '//x:65536', '//[/', '/\\evil.example/predict', 'http://evil.example/predict', '*'])(
    'answers 400 with a request id to %s, and keeps serving',
    async (target) => {
      const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
      expect(res.status).toBe(400);
      const body = rawJson(res);
      expect(body?.requestId).toMatch(/^[0-9a-f-]{36}$/);
      expect(res.text).toMatch(/x-request-id: [0-9a-f-]{36}/i);
      const ok = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: PAIRS });
      expect(ok.status).toBe(200);
    },
  );

  it('turns a handler that throws into a 500 with a request id (no stack), and keeps serving', async () => {
    backend.predict.mockImplementationOnce(async () => {
      throw new TypeError('secret internal detail');
    });
    const res = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: PAIRS });
    expect(res.status).toBe(500);
    const text = await res.text();
    expect(text).not.toContain('secret internal detail');
    expect(JSON.parse(text).requestId).toBe(res.headers.get('x-request-id'));
    expect((await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: PAIRS })).status).toBe(200);
  });

  it('answers 413 to a body over 1 MiB without reading it all', async () => {
    const res = await fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: 'x'.repeat((1 << 20) + 10) });
    expect(res.status).toBe(413);
  });
});

describe('startHttpServer: cross-site requests and DNS rebinding', () => {
  it('refuses a text/plain (or untyped) POST with 415, before the model sees it', async () => {
    const backend = fakeBackend();
    const { url } = await serve(backend);
    const plain = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: PAIRS });
    expect(plain.status).toBe(415);
    expect(((await plain.json()) as { message: string }).message).toMatch(/Content-Type: application\/json/);
    const form = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: PAIRS });
    expect(form.status).toBe(415);
    const port = Number(new URL(url).port);
    const untyped = await rawRequest(port, `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: ${PAIRS.length}\r\n\r\n${PAIRS}`);
    expect(untyped.status).toBe(415);
    expect(backend.predict).not.toHaveBeenCalled();
    const json = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json; charset=utf-8' }, body: PAIRS });
    expect(json.status).toBe(200);
  });

  it('refuses a foreign Host (DNS rebinding) or Origin with 403, accepts localhost names and --allowed-host', async () => {
    const backend = fakeBackend();
    const { port } = await serve(backend, { allowedHosts: ['simpair.internal'] });
    const post = (headers: string) => rawRequest(port, `POST /predict HTTP/1.1\r\n${headers}Content-Type: application/json\r\nContent-Length: ${PAIRS.length}\r\n\r\n${PAIRS}`);
    for (const host of ['attacker.example', `attacker.example:${port}`, '127.0.0.1.nip.io', 'localhost.attacker.example']) {
      const res = await post(`Host: ${host}\r\n`);
      expect(res.status, host).toBe(403);
      expect(String(rawJson(res)?.message)).toMatch(/--allowed-host/);
    }
    expect((await post('Host: 127.0.0.1\r\nOrigin: http://attacker.example\r\n')).status).toBe(403);
    expect((await post('Host: 127.0.0.1\r\nOrigin: null\r\n')).status).toBe(403);
    // HTTP/1.0 may omit Host; it is refused too.
    expect((await rawRequest(port, `POST /predict HTTP/1.0\r\nContent-Type: application/json\r\nContent-Length: ${PAIRS.length}\r\n\r\n${PAIRS}`)).status).toBe(403);
    expect(backend.predict).not.toHaveBeenCalled();
    for (const host of [`127.0.0.1:${port}`, `localhost:${port}`, 'LOCALHOST', `[::1]:${port}`, 'simpair.internal:8080']) {
      expect((await post(`Host: ${host}\r\n`)).status, host).toBe(200);
    }
    expect((await post(`Host: localhost:${port}\r\nOrigin: http://localhost:5173\r\n`)).status).toBe(200);
  });

  it('with a token, refuses a missing or wrong Authorization with 401 and accepts the right one', async () => {
    const backend = fakeBackend();
    const token = 'test-token-0123456789';
    const { url } = await serve(backend, { token });
    const post = (headers: Record<string, string>) => fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: PAIRS });
    const missing = await post({});
    expect(missing.status).toBe(401);
    expect(missing.headers.get('www-authenticate')).toBe('Bearer');
    expect((await post({ authorization: `Bearer ${token}x` })).status).toBe(401);
    expect((await post({ authorization: token })).status).toBe(401);
    expect((await post({ authorization: 'Bearer ' })).status).toBe(401);
    expect((await fetch(`${url}/runs/x`, {})).status).toBe(401);
    expect(backend.predict).not.toHaveBeenCalled();
    expect((await post({ authorization: `Bearer ${token}` })).status).toBe(200);
  });
});

describe('startHttpServer: port in use', () => {
  it('says the port is in use and suggests --port', async () => {
    const blocker = createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const { port } = blocker.address() as AddressInfo;
    try {
      await expect(startHttpServer(fakeBackend(), { port })).rejects.toThrow(new RegExp(`Port ${port} on 127\\.0\\.0\\.1 is already in use.*--port`));
    } finally {
      blocker.close();
    }
  });
});
