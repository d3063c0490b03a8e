import { describe, expect, it } from 'vitest';
import {
  float16ArrayToFloat32,
  float16BitsToFloat32,
  float32ArrayToFloat16,
  float32ToFloat16Bits,
} from '../../src/embeddings/float16.ts';

const f32 = (x: number) => Math.fround(x);

describe('float32ToFloat16Bits', () => {
  it.each([
    [0, 0x0000],
    [-0, 0x8000],
    [1, 0x3c00],
    [-2, 0xc000],
    [0.5, 0x3800],
    [65504, 0x7bff], // largest finite
    [65519, 0x7bff], // below the halfway point to 65536: stays finite
    [65520, 0x7c00], // halfway to 65536 rounds to even -> overflow to Infinity
    [1e6, 0x7c00],
    [Infinity, 0x7c00],
    [-Infinity, 0xfc00],
    [2 ** -14, 0x0400], // smallest normal
    [2 ** -24, 0x0001], // smallest subnormal
    [2 ** -25, 0x0000], // exactly half the smallest subnormal: ties to even (0)
    [1.5 * 2 ** -25, 0x0001], // above half: rounds up
    [3 * 2 ** -25, 0x0002], // 1.5 subnormal units: tie, rounds to even (2)
    [2 ** -14 - 2 ** -25, 0x0400], // largest subnormal + half unit rounds up into the normals
    [1 + 2 ** -11, 0x3c00], // tie between 1 and 1+2^-10: even mantissa (1)
    [1 + 3 * 2 ** -11, 0x3c02], // tie between 1+2^-10 and 1+2^-9: even (1+2^-9)
    [1 + 2 ** -11 + 2 ** -20, 0x3c01], // just above the tie: up
    [f32(0.1), 0x2e66],
    [f32(-3.14159), 0xc248],
  ])('%s -> 0x%s', (value, bits) => {
    expect(float32ToFloat16Bits(value).toString(16)).toBe(bits.toString(16));
  });

  it('keeps NaN a NaN', () => {
    const bits = float32ToFloat16Bits(NaN);
    expect(bits & 0x7c00).toBe(0x7c00);
    expect(bits & 0x3ff).not.toBe(0);
    expect(float16BitsToFloat32(bits)).toBeNaN();
  });
});

describe('float16BitsToFloat32', () => {
  it.each([
    [0x0000, 0],
    [0x3c00, 1],
    [0x7bff, 65504],
    [0x0001, 2 ** -24],
    [0x03ff, 1023 * 2 ** -24],
    [0x0400, 2 ** -14],
    [0x7c00, Infinity],
    [0xfc00, -Infinity],
    [0xc000, -2],
  ])('0x%s -> %s', (bits, value) => {
    expect(float16BitsToFloat32(bits)).toBe(value);
  });

  it('round-trips every non-NaN binary16 exactly', () => {
    const all = new Uint16Array(65536).map((_, i) => i);
    const back = float32ArrayToFloat16(float16ArrayToFloat32(all));
    for (let b = 0; b < 65536; b++) {
      const isNaN16 = (b & 0x7c00) === 0x7c00 && (b & 0x3ff) !== 0;
      if (!isNaN16 && back[b] !== b) throw new Error(`0x${b.toString(16)} came back as 0x${back[b].toString(16)}`);
    }
  });
});
