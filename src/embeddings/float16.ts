/**
 * IEEE 754 binary16 conversion, round-to-nearest-even (what numpy's `astype(float16)` and
 * PyTorch do), so F16 shards written here hold the same bits Python would write.
 */

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** float32 -> binary16 bits, round to nearest, ties to even; overflow -> ±Infinity, NaN kept. */
export function float32ToFloat16Bits(value: number): number {
  f32[0] = value;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;

  if (exp === 0xff) {
    // Inf stays Inf; NaN keeps its top payload bits and stays quiet (never turns into Inf).
    return mant === 0 ? sign | 0x7c00 : sign | 0x7e00 | (mant >>> 13);
  }
  // Unbiased exponent e = exp - 127; binary16 normal range is e in [-14, 15].
  const e = exp - 127;
  if (e > 15) return sign | 0x7c00; // too large even before rounding
  if (e >= -14) {
    // Normal: keep 10 mantissa bits, round on the 13 dropped ones.
    let half = ((e + 15) << 10) | (mant >>> 13);
    const rest = mant & 0x1fff;
    if (rest > 0x1000 || (rest === 0x1000 && (half & 1) === 1)) half += 1; // may carry into exp: still correct, up to Inf
    return sign | half;
  }
  if (e < -25) return sign; // below half the smallest subnormal (2^-25): rounds to ±0
  // Subnormal: value = M * 2^(e-23) with M the 24-bit mantissa incl. the implicit 1, and
  // binary16 subnormals count units of 2^-24, so half = M >> (-e - 1), rounding the rest.
  mant |= 0x800000;
  const totalShift = -e - 1; // 14..24
  let half = mant >>> totalShift;
  const dropped = mant & ((1 << totalShift) - 1);
  const halfway = 1 << (totalShift - 1);
  if (dropped > halfway || (dropped === halfway && (half & 1) === 1)) half += 1; // may become the smallest normal: correct
  return sign | half;
}

/** binary16 bits -> float32 value (exact: every binary16 is a float32). */
export function float16BitsToFloat32(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exp = (bits >>> 10) & 0x1f;
  const mant = bits & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant === 0 ? sign * Infinity : NaN;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

/** Converts a whole float32 array to binary16 bits. */
export function float32ArrayToFloat16(values: ArrayLike<number>): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = float32ToFloat16Bits(values[i]);
  return out;
}

/** Converts binary16 bits back to float32 values, through a 65536-entry table. */
export function float16ArrayToFloat32(bits: Uint16Array): Float32Array {
  const table = decodeTable();
  const out = new Float32Array(bits.length);
  for (let i = 0; i < bits.length; i++) out[i] = table[bits[i]];
  return out;
}

let table: Float32Array | undefined;
function decodeTable(): Float32Array {
  if (table) return table;
  table = new Float32Array(65536);
  for (let b = 0; b < 65536; b++) table[b] = float16BitsToFloat32(b);
  return table;
}
