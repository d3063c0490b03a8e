import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seededRandom } from '../../src/classifier/seeded-random.ts';
import { startServe } from '../helpers/cli.ts';
import { rawRequest, type RawAnswer } from '../helpers/raw-http.ts';
import { writeTinyModel } from '../helpers/tiny-model.ts';

// A real `simpair serve --model-dir` child: a request that crashes it ends the process, which
// the checks after the fuzzing see.
let work: string;
let server: Awaited<ReturnType<typeof startServe>>;
let port: number;
const PAIRS = JSON.stringify({ pairs: [{ sentence1: 'A man is eating.', sentence2: 'Someone eats.' }, { sentence1: 'x', sentence2: 'y' }] });
let before: unknown;

const predict = () => fetch(`http://127.0.0.1:${port}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: PAIRS });

beforeAll(async () => {
  work = await mkdtemp(join(tmpdir(), 'simpair-fuzz-'));
  await writeTinyModel(join(work, 'model'));
  server = await startServe(['--model-dir', join(work, 'model')]);
  port = Number(new URL(server.url).port);
  const res = await predict();
  expect(res.status).toBe(200);
  before = await res.json();
});
afterAll(async () => {
  await server?.stop();
  await rm(work, { recursive: true, force: true });
});

const METHODS = ['GET', 'POST', 'POST', 'POST', 'POST', 'PUT', 'DELETE', 'OPTIONS', 'HEAD', 'PATCH', 'TRACE', 'CONNECT', 'FOO', 'get', 'P\u00d6ST', '', 'G E T', 'POST'.repeat(50)];
const TARGETS = [
  '/predict', '/predict', '/predict', '/predict', '/train', '/predict/', '/predict?x=1', '/train', '/runs/abc', '/runs/../../etc/passwd', '/', '//', '//%zz/', '//a:b@/', '//x:65536',
  '//[/', '/%zz', '/%00', '/\\evil.example/', '*', 'http://evil.example/predict', 'predict', '/predict#frag', '/\u00e9', '/%E2%82%AC',
  '/' + 'a'.repeat(9000), '/predict?' + '&'.repeat(2000), '///predict', '/./predict', '/runs/%2e%2e', '/runs/' + 'x'.repeat(300), '',
];
const VERSIONS = ['HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.1', 'HTTP/1.0', 'HTTP/2.0', 'HTTP/9.9', 'HTTP/1.1 extra', 'http/1.1', ''];
const HOSTS = ['127.0.0.1', `127.0.0.1:${'{port}'}`, 'localhost', 'localhost', '127.0.0.1', 'attacker.example', '', '[::1]', '[', 'a'.repeat(300), '127.0.0.1\u0000x'];
const TYPES = ['application/json', 'application/json', 'application/json', 'application/json; charset=utf-8', 'text/plain', 'APPLICATION/JSON', '', 'application/json\u0000', 'multipart/form-data; boundary=x'];
const BODIES = [
  PAIRS, '', '{', '[]', 'null', '"x"', '{"pairs":[]}', '{"pairs":"x"}', '{"pairs":[{"sentence1":1,"sentence2":{}}]}', '{"datasetKey":"datasets/"}',
  '\u0000\u0001\u0002', '\uFFFF\uD800', '[' .repeat(5000) + ']'.repeat(5000), '{"pairs":[{"sentence1":"' + 'é'.repeat(3000) + '","sentence2":"b"}]}',
  JSON.stringify({ pairs: Array.from({ length: 40 }, () => ({ sentence1: 'a', sentence2: 'b' })) }), '{"__proto__":{"x":1},"pairs":[{"sentence1":"a","sentence2":"b"}]}',
];

/** One generated request: request line, headers and body put together, some of them broken on purpose. */
function generate(random: () => number, i: number): string {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)];
  const method = pick(METHODS);
  const target = pick(TARGETS);
  const version = pick(VERSIONS);
  const body = pick(BODIES);
  const lines = [`${method} ${target} ${version}`.trim()];
  const host = pick(HOSTS).replace('{port}', String(port));
  if (random() < 0.9) lines.push(`Host: ${host}`);
  if (random() < 0.15) lines.push(`Host: ${pick(HOSTS)}`);
  if (random() < 0.8) lines.push(`Content-Type: ${pick(TYPES)}`);
  const length = Buffer.byteLength(body);
  const lengthMode = random();
  if (lengthMode < 0.7) lines.push(`Content-Length: ${length}`);
  else if (lengthMode < 0.79) lines.push(`Content-Length: ${length + 1 + Math.floor(random() * 50)}`); // more than sent: the client ends first
  else if (lengthMode < 0.77) lines.push(`Content-Length: -1`);
  else if (lengthMode < 0.79) lines.push(`Content-Length: ${length}`, `Content-Length: ${length + 3}`);
  else if (lengthMode < 0.81) lines.push('Content-Length: abc');
  else if (lengthMode < 0.88) lines.push('Transfer-Encoding: chunked');
  if (random() < 0.04) lines.push(`X-Long: ${'h'.repeat(20_000)}`);
  if (random() < 0.03) lines.push(' folded continuation');
  if (random() < 0.03) lines.push('No colon here');
  if (random() < 0.03) lines.push('Bad\u0000Header: x');
  if (random() < 0.1) lines.push('Origin: http://attacker.example');
  if (random() < 0.05) lines.push('Expect: 100-continue');
  if (random() < 0.05) lines.push(`Authorization: Bearer ${'t'.repeat(i)}`);
  let payload = body;
  if (lines.includes('Transfer-Encoding: chunked')) {
    payload = random() < 0.5 ? `${length.toString(16)}\r\n${body}\r\n0\r\n\r\n` : `zz\r\n${body}\r\n`;
  }
  const eol = random() < 0.05 ? '\n' : '\r\n';
  return lines.join(eol) + eol + eol + payload;
}

describe('simpair serve under fuzzing', () => {
  it('answers or cleanly closes each of 240 odd requests (and 24 good ones among them) over raw TCP, then still predicts the same', async () => {
    const random = seededRandom(20260427);
    // Every 10th request is a well-formed prediction: it must succeed in the middle of the noise.
    const wellFormed = `POST /predict HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\nContent-Length: ${PAIRS.length}\r\n\r\n${PAIRS}`;
    const requests = Array.from({ length: 264 }, (_, i) => (i % 11 === 10 ? wellFormed : generate(random, i)));
    const answers: RawAnswer[] = [];
    for (let i = 0; i < requests.length; i += 8) {
      answers.push(...(await Promise.all(requests.slice(i, i + 8).map((r) => rawRequest(port, r)))));
    }
    expect(server.child.exitCode).toBeNull();
    answers.forEach((a, i) => {
      // Either an HTTP answer (never a 5xx: every throw is handled), or a closed connection with nothing sent.
      if (a.status === undefined) expect(a.text, `request ${i}: ${JSON.stringify(requests[i].slice(0, 200))}`).toBe('');
      else expect(a.status, `request ${i}: ${JSON.stringify(requests[i].slice(0, 200))}`).toBeLessThan(500);
    });
    answers.forEach((a, i) => {
      if (requests[i] === wellFormed) expect(a.status, `well-formed request ${i}`).toBe(200);
    });
    const statuses = new Set(answers.map((a) => a.status));
    expect([...statuses].filter((s) => s !== undefined && s >= 400).length).toBeGreaterThanOrEqual(4);
    const after = await predict();
    expect(after.status).toBe(200);
    expect(await after.json()).toEqual(before);
  });
});
