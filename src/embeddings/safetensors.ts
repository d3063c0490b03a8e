import { endianness } from 'node:os';
import { SimpairError } from '../errors.ts';

/** The safetensors dtypes simpair writes. */
export type SafetensorsDtype = 'F32' | 'F16' | 'U8';

const BYTES_PER_ELEMENT: Record<SafetensorsDtype, number> = { F32: 4, F16: 2, U8: 1 };

/** One tensor to write: raw little-endian bytes of `dtype`, row-major `shape`. */
export interface SafetensorsTensor {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly data: Float32Array | Uint16Array | Uint8Array;
}

/** One tensor read back: a view on the file's bytes (no copy when aligned). */
export interface SafetensorsEntry {
  readonly dtype: SafetensorsDtype;
  readonly shape: readonly number[];
  readonly bytes: Uint8Array;
}

/** A decoded safetensors file. */
export interface SafetensorsFile {
  readonly tensors: ReadonlyMap<string, SafetensorsEntry>;
  readonly metadata: Readonly<Record<string, string>>;
}

function assertLittleEndian(): void {
  // Typed arrays use the host's byte order; safetensors is little-endian. Every platform
  // simpair targets (x64, arm64 Lambda/Batch) is LE; refuse rather than write garbage.
  if (endianness() !== 'LE') throw new SimpairError('safetensors I/O needs a little-endian host.');
}

/**
 * Encodes tensors in the safetensors format: an 8-byte little-endian header length N, a
 * JSON header of N bytes (`{"name": {"dtype", "shape", "data_offsets": [begin, end]}, ...,
 * "__metadata__": {string: string}}`), then the raw data. As the reference writer does,
 * the header is padded with spaces so the data starts 8-byte aligned, and tensors are laid
 * out contiguously in the order given.
 *
 * Python reads it with `safetensors.numpy.load_file(path)` (or `safe_open`), and torch /
 * TensorFlow through their safetensors bindings.
 */
export function encodeSafetensors(
  tensors: Readonly<Record<string, SafetensorsTensor>>,
  metadata: Readonly<Record<string, string>> = {},
): Uint8Array {
  assertLittleEndian();
  const header: Record<string, unknown> = {};
  if (Object.keys(metadata).length > 0) header.__metadata__ = metadata;
  let offset = 0;
  for (const [name, t] of Object.entries(tensors)) {
    const elements = t.shape.reduce((a, b) => a * b, 1);
    if (t.data.length !== elements) {
      throw new SimpairError(`safetensors: tensor "${name}" has ${t.data.length} elements but shape [${t.shape.join(', ')}] needs ${elements}.`);
    }
    const bytes = elements * BYTES_PER_ELEMENT[t.dtype];
    if (t.data.byteLength !== bytes) {
      throw new SimpairError(`safetensors: tensor "${name}" is ${t.data.byteLength} bytes, dtype ${t.dtype} needs ${bytes}.`);
    }
    header[name] = { dtype: t.dtype, shape: [...t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const padded = Math.ceil((8 + json.length) / 8) * 8 - 8;
  if (padded > json.length) json = Buffer.concat([json, Buffer.alloc(padded - json.length, 0x20)]);

  const out = new Uint8Array(8 + json.length + offset);
  new DataView(out.buffer).setBigUint64(0, BigInt(json.length), true);
  out.set(json, 8);
  let at = 8 + json.length;
  for (const t of Object.values(tensors)) {
    out.set(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength), at);
    at += t.data.byteLength;
  }
  return out;
}

/**
 * Decodes a safetensors file, checking what the reference reader checks: header length
 * within the file, known dtypes, each tensor's byte size equal to its shape's, and data
 * offsets covering the data section contiguously with no gap or overlap.
 */
export function decodeSafetensors(file: Uint8Array, what = 'safetensors file'): SafetensorsFile {
  assertLittleEndian();
  const fail = (reason: string): never => {
    throw new SimpairError(`${what} is not a valid safetensors file: ${reason}.`);
  };
  if (file.byteLength < 8) fail(`${file.byteLength} bytes, shorter than the 8-byte header length`);
  const n = new DataView(file.buffer, file.byteOffset, file.byteLength).getBigUint64(0, true);
  if (n > BigInt(file.byteLength - 8)) fail(`header length ${n} exceeds the file (${file.byteLength} bytes)`);
  const headerLength = Number(n);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(Buffer.from(file.buffer, file.byteOffset + 8, headerLength).toString('utf8')) as Record<string, unknown>;
  } catch (err) {
    return fail(`header is not JSON (${(err as Error).message})`);
  }
  const dataStart = 8 + headerLength;
  const dataLength = file.byteLength - dataStart;
  const metadata = (header.__metadata__ ?? {}) as Record<string, string>;
  const entries: [string, SafetensorsEntry, number, number][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    const info = raw as { dtype?: unknown; shape?: unknown; data_offsets?: unknown };
    if (typeof info.dtype !== 'string' || !Object.hasOwn(BYTES_PER_ELEMENT, info.dtype)) {
      fail(`tensor "${name}" has dtype ${JSON.stringify(info.dtype)}; simpair reads ${Object.keys(BYTES_PER_ELEMENT).join(', ')}`);
    }
    const dtype = info.dtype as SafetensorsDtype;
    const shape = info.shape;
    const offsets = info.data_offsets;
    if (!Array.isArray(shape) || !shape.every((d) => Number.isInteger(d) && d >= 0)) fail(`tensor "${name}" has an invalid shape`);
    if (!Array.isArray(offsets) || offsets.length !== 2 || !offsets.every((d) => Number.isInteger(d) && d >= 0)) {
      fail(`tensor "${name}" has invalid data_offsets`);
    }
    const [begin, end] = offsets as [number, number];
    const expected = (shape as number[]).reduce((a, b) => a * b, 1) * BYTES_PER_ELEMENT[dtype];
    if (end - begin !== expected) fail(`tensor "${name}" spans ${end - begin} bytes, its shape and dtype need ${expected}`);
    if (end > dataLength) fail(`tensor "${name}" ends at ${end}, past the data section (${dataLength} bytes)`);
    let bytes = file.subarray(dataStart + begin, dataStart + end);
    // Typed-array views need element alignment in the underlying buffer; copy if not.
    if (bytes.byteOffset % BYTES_PER_ELEMENT[dtype] !== 0) bytes = bytes.slice();
    entries.push([name, { dtype, shape: shape as number[], bytes }, begin, end]);
  }
  entries.sort((a, b) => a[2] - b[2]);
  let cursor = 0;
  for (const [name, , begin, end] of entries) {
    if (begin !== cursor) fail(`tensor "${name}" starts at ${begin}, expected ${cursor} (gap or overlap)`);
    cursor = end;
  }
  if (cursor !== dataLength) fail(`tensors cover ${cursor} of ${dataLength} data bytes`);
  return { tensors: new Map(entries.map(([name, entry]) => [name, entry])), metadata };
}

/** Views a decoded F32 entry as a Float32Array (no copy). */
export function asFloat32(entry: SafetensorsEntry): Float32Array {
  return new Float32Array(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength / 4);
}

/** Views a decoded F16 entry as binary16 bits (no copy). */
export function asFloat16Bits(entry: SafetensorsEntry): Uint16Array {
  return new Uint16Array(entry.bytes.buffer, entry.bytes.byteOffset, entry.bytes.byteLength / 2);
}
