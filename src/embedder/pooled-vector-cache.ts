import { createHash, randomUUID } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { log } from '../util/log.ts';

const MAGIC = 'SPV1';
const HASH_BYTES = 32;

/** What identifies a pooled vector besides its sentence: the exact encoder, tokenizer and cut. */
export interface PooledVectorKey {
  /** The ONNX file BERT runs from (hashed: same bytes, same vectors). */
  readonly onnxPath: string;
  /** sha256 of tokenizer.json. */
  readonly tokenizerSha256: string;
  readonly maxTokens: number;
  readonly hidden: number;
}

const fileHashes = new Map<string, Promise<string>>();

/** sha256 of a file, once per path, size and modification time in this process. */
async function fileSha256(path: string): Promise<string> {
  const { size, mtimeMs } = await stat(path);
  const memo = `${path}\0${size}\0${mtimeMs}`;
  let hash = fileHashes.get(memo);
  if (!hash) {
    hash = new Promise<string>((resolve, reject) => {
      const h = createHash('sha256');
      createReadStream(path)
        .on('data', (d) => h.update(d))
        .on('error', reject)
        .on('end', () => resolve(h.digest('hex')));
    });
    fileHashes.set(memo, hash);
  }
  return hash;
}

function sentenceHash(sentence: string): string {
  return createHash('sha256').update(sentence, 'utf8').digest('hex');
}

/**
 * Where the cache lives: `SIMPAIR_POOLED_CACHE` (a directory, or `off`), else
 * `$SIMPAIR_CACHE/pooled` (`~/.cache/simpair/pooled`); undefined when turned off.
 */
export function pooledCacheRoot(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const configured = env.SIMPAIR_POOLED_CACHE;
  if (configured === 'off' || configured === '0') return undefined;
  if (configured) return configured;
  return join(env.SIMPAIR_CACHE ?? join(homedir(), '.cache', 'simpair'), 'pooled');
}

/**
 * Mean-pooled sentence vectors kept on disk by sentence hash, per encoder (ONNX bytes),
 * tokenizer and token cut: the encoder baseline of a second run on the same data, and
 * `simpair evaluate` on a test file the run already scored, encode no sentence again. Each
 * write is a new file put in place by rename (several processes may share the cache; a file is
 * whole or absent); a file that does not parse is skipped, never trusted. The vectors are the
 * float32 values the encoder returned, so a cached vector equals a computed one bit for bit.
 *
 * @example
 * const cache = await PooledVectorCache.open({ onnxPath, tokenizerSha256, maxTokens: 256, hidden: 384 });
 * await meanPooledSentenceEmbeddings(tokenizer, embedder, sentences, { cache });
 */
export class PooledVectorCache {
  private readonly added = new Map<string, Float32Array>();

  private constructor(
    /** The directory of this key. */
    readonly dir: string,
    readonly hidden: number,
    private readonly vectors: Map<string, Float32Array>,
  ) {}

  /** Opens (creates on first write) the cache of `key` under `root`; undefined when turned off. */
  static async open(key: PooledVectorKey, root = pooledCacheRoot()): Promise<PooledVectorCache | undefined> {
    if (!root) return undefined;
    const id = createHash('sha256')
      .update(JSON.stringify({ onnx: await fileSha256(key.onnxPath), tokenizer: key.tokenizerSha256, maxTokens: key.maxTokens, hidden: key.hidden }))
      .digest('hex')
      .slice(0, 32);
    const dir = join(root, id);
    const vectors = new Map<string, Float32Array>();
    let files: string[] = [];
    try {
      files = (await readdir(dir)).filter((f) => f.endsWith('.bin'));
    } catch {
      // No cache yet.
    }
    for (const f of files) {
      try {
        readInto(await readFile(join(dir, f)), key.hidden, vectors);
      } catch (err) {
        log('debug', `pooled-vector cache: skipping ${join(dir, f)}: ${(err as Error).message}`);
      }
    }
    return new PooledVectorCache(dir, key.hidden, vectors);
  }

  /** The cache of this encoder (its ONNX file) and tokenizer at `maxTokens`; undefined when turned off. */
  static forEncoder(embedder: { readonly onnxPath: string; readonly hidden: number }, tokenizer: { readonly sha256: string }, maxTokens: number): Promise<PooledVectorCache | undefined> {
    return PooledVectorCache.open({ onnxPath: embedder.onnxPath, tokenizerSha256: tokenizer.sha256, maxTokens, hidden: embedder.hidden });
  }

  /** Vectors held (read at open plus added since). */
  get size(): number {
    return this.vectors.size;
  }

  /** The cached vector of `sentence`, or undefined. */
  get(sentence: string): Float32Array | undefined {
    return this.vectors.get(sentenceHash(sentence));
  }

  /** Records a computed vector (copied); {@link flush} writes it. */
  add(sentence: string, vector: Float32Array): void {
    const h = sentenceHash(sentence);
    if (this.vectors.has(h)) return;
    const copy = Float32Array.from(vector);
    this.vectors.set(h, copy);
    this.added.set(h, copy);
  }

  /** Writes what was added since the last flush as one new file. A failed write only logs: the cache is an optimisation. */
  async flush(): Promise<void> {
    if (this.added.size === 0) return;
    const entries = [...this.added];
    this.added.clear();
    const header = Buffer.alloc(12);
    header.write(MAGIC, 0, 'latin1');
    header.writeUInt32LE(this.hidden, 4);
    header.writeUInt32LE(entries.length, 8);
    const hashes = Buffer.concat(entries.map(([h]) => Buffer.from(h, 'hex')));
    const floats = new Float32Array(entries.length * this.hidden);
    entries.forEach(([, v], i) => floats.set(v, i * this.hidden));
    const name = `${Date.now()}-${randomUUID()}`;
    const tmp = join(this.dir, `${name}.tmp`);
    try {
      await mkdir(this.dir, { recursive: true });
      await writeFile(tmp, Buffer.concat([header, hashes, Buffer.from(floats.buffer, floats.byteOffset, floats.byteLength)]));
      await rename(tmp, join(this.dir, `${name}.bin`));
    } catch (err) {
      await rm(tmp, { force: true }).catch(() => {});
      log('warn', `pooled-vector cache: could not write to ${this.dir} (${(err as Error).message}); the next run encodes these sentences again. SIMPAIR_POOLED_CACHE=off turns the cache off.`);
    }
  }
}

function readInto(bytes: Buffer, hidden: number, into: Map<string, Float32Array>): void {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== MAGIC) throw new Error('not a pooled-vector file');
  const h = bytes.readUInt32LE(4);
  const count = bytes.readUInt32LE(8);
  if (h !== hidden) throw new Error(`hidden size ${h}, expected ${hidden}`);
  const floatsAt = 12 + count * HASH_BYTES;
  if (bytes.length !== floatsAt + count * hidden * 4) throw new Error(`${bytes.length} bytes, expected ${floatsAt + count * hidden * 4} for ${count} vectors`);
  const floats = new Float32Array(count * hidden);
  new Uint8Array(floats.buffer).set(bytes.subarray(floatsAt));
  for (let i = 0; i < count; i++) {
    into.set(bytes.toString('hex', 12 + i * HASH_BYTES, 12 + (i + 1) * HASH_BYTES), floats.subarray(i * hidden, (i + 1) * hidden));
  }
}
