/** Magic numbers of the archive and compression formats a dataset may arrive in by mistake. */
const SIGNATURES: readonly { name: string; bytes: readonly number[]; tool: string }[] = [
  { name: 'gzip', bytes: [0x1f, 0x8b], tool: 'gunzip -k FILE' },
  { name: 'zip', bytes: [0x50, 0x4b, 0x03, 0x04], tool: 'unzip FILE' },
  { name: 'zip', bytes: [0x50, 0x4b, 0x05, 0x06], tool: 'unzip FILE' },
  { name: 'bzip2', bytes: [0x42, 0x5a, 0x68], tool: 'bunzip2 -k FILE' },
  { name: 'xz', bytes: [0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], tool: 'unxz -k FILE' },
  { name: 'zstd', bytes: [0x28, 0xb5, 0x2f, 0xfd], tool: 'unzstd FILE' },
  { name: '7z', bytes: [0x37, 0x7a, 0xbc, 0xaf, 0x27, 0x1c], tool: '7z x FILE' },
];

/**
 * The compression format `bytes` start with (`gzip`, `zip`, ...) and the command that
 * decompresses it, or undefined for anything else (text included).
 *
 * @example
 * detectCompression(gzipSync('a\tb\t1\n')); // { name: 'gzip', tool: 'gunzip -k FILE' }
 */
export function detectCompression(bytes: Uint8Array): { name: string; tool: string } | undefined {
  const hit = SIGNATURES.find((s) => bytes.length >= s.bytes.length && s.bytes.every((b, i) => bytes[i] === b));
  return hit && { name: hit.name, tool: hit.tool };
}
