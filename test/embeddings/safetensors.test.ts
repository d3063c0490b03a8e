import { describe, expect, it } from 'vitest';
import { asFloat16Bits, asFloat32, decodeSafetensors, encodeSafetensors } from '../../src/embeddings/safetensors.ts';

function header(file: Uint8Array): { n: number; json: Record<string, unknown> } {
  const n = Number(new DataView(file.buffer, file.byteOffset).getBigUint64(0, true));
  return { n, json: JSON.parse(Buffer.from(file.subarray(8, 8 + n)).toString('utf8')) };
}

describe('encodeSafetensors', () => {
  const emb = Float32Array.from([1.5, -2, 0, 3.25, 4, 5]);
  const labels = Uint8Array.from([1, 0]);
  const file = encodeSafetensors(
    { embeddings: { dtype: 'F32', shape: [2, 1, 3], data: emb }, labels: { dtype: 'U8', shape: [2], data: labels } },
    { format: 'test' },
  );

  it('writes the layout Python safetensors reads: u64 LE header length, JSON header, data 8-byte aligned', () => {
    const { n, json } = header(file);
    expect((8 + n) % 8).toBe(0);
    expect(json).toEqual({
      __metadata__: { format: 'test' },
      embeddings: { dtype: 'F32', shape: [2, 1, 3], data_offsets: [0, 24] },
      labels: { dtype: 'U8', shape: [2], data_offsets: [24, 26] },
    });
    expect(file.byteLength).toBe(8 + n + 26);
    // Raw little-endian float32: 1.5 = 0x3fc00000.
    expect([...file.subarray(8 + n, 8 + n + 4)]).toEqual([0x00, 0x00, 0xc0, 0x3f]);
    expect([...file.subarray(8 + n + 24)]).toEqual([1, 0]);
  });

  it('round-trips through decodeSafetensors', () => {
    const { tensors, metadata } = decodeSafetensors(file);
    expect(metadata).toEqual({ format: 'test' });
    expect(Array.from(asFloat32(tensors.get('embeddings')!))).toEqual(Array.from(emb));
    expect(tensors.get('embeddings')!.shape).toEqual([2, 1, 3]);
    expect(Array.from(tensors.get('labels')!.bytes)).toEqual([1, 0]);
  });

  it('round-trips F16 and copies misaligned views', () => {
    const f16 = encodeSafetensors({ labels: { dtype: 'U8', shape: [1], data: Uint8Array.from([1]) }, x: { dtype: 'F16', shape: [2], data: Uint16Array.from([0x3c00, 0xc000]) } });
    const shifted = new Uint8Array(f16.byteLength + 1).subarray(1);
    shifted.set(f16);
    const x = decodeSafetensors(shifted).tensors.get('x')!;
    expect(x.dtype).toBe('F16');
    expect(Array.from(asFloat16Bits(x))).toEqual([0x3c00, 0xc000]);
  });

  it('refuses an element count that does not match the shape', () => {
    expect(() => encodeSafetensors({ x: { dtype: 'F32', shape: [2, 2], data: new Float32Array(3) } })).toThrow(/3 elements but shape \[2, 2\] needs 4/);
  });
});

describe('decodeSafetensors', () => {
  const make = (json: object, dataBytes: number) => {
    const h = Buffer.from(JSON.stringify(json));
    const out = new Uint8Array(8 + h.length + dataBytes);
    new DataView(out.buffer).setBigUint64(0, BigInt(h.length), true);
    out.set(h, 8);
    return out;
  };

  it.each([
    ['a header length past the end', new Uint8Array([255, 0, 0, 0, 0, 0, 0, 0]), /header length 255 exceeds/],
    ['an unknown dtype', make({ x: { dtype: 'BF16', shape: [1], data_offsets: [0, 2] } }, 2), /dtype "BF16"/],
    ['a size that does not match the shape', make({ x: { dtype: 'F32', shape: [2], data_offsets: [0, 4] } }, 4), /spans 4 bytes.*need 8/],
    ['a gap', make({ x: { dtype: 'U8', shape: [1], data_offsets: [1, 2] } }, 2), /starts at 1, expected 0/],
    ['trailing bytes', make({ x: { dtype: 'U8', shape: [1], data_offsets: [0, 1] } }, 2), /cover 1 of 2/],
  ])('rejects %s', (_, file, message) => {
    expect(() => decodeSafetensors(file, 'shard.safetensors')).toThrow(message);
  });
});
