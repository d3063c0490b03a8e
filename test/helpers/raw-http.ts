import { connect } from 'node:net';

/** What came back on a raw connection: the status (undefined when the server just closed) and all bytes. */
export interface RawAnswer {
  status?: number;
  text: string;
}

/**
 * Sends `request` as raw bytes over TCP (node:net, so malformed request lines reach the
 * server unaltered), ends the writing side and collects everything until the server closes.
 */
export function rawRequest(port: number, request: string | Buffer): Promise<RawAnswer> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    socket.on('data', (c: Buffer) => chunks.push(c));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      // The server may reset a connection it refused while we were still writing.
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return;
      reject(err);
    });
    socket.on('close', () => {
      const text = Buffer.concat(chunks).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3}) /.exec(text);
      resolve({ status: m ? Number(m[1]) : undefined, text });
    });
    socket.end(request);
  });
}

/** The JSON body of a raw answer (after the blank line), or undefined. */
export function rawJson(answer: RawAnswer): Record<string, unknown> | undefined {
  const at = answer.text.indexOf('\r\n\r\n');
  if (at < 0) return undefined;
  let body = answer.text.slice(at + 4);
  if (/\r\ntransfer-encoding: chunked(\r\n|$)/i.test(answer.text.slice(0, at))) {
    body = body.replace(/^[0-9a-f]+\r\n/i, '').replace(/\r\n0\r\n\r\n$/, '');
  }
  try {
    return JSON.parse(body) as Record<string, unknown>;
  } catch {
    return undefined;
  }
}
