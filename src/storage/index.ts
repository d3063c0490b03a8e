export { getJson, putJson } from './object-store.ts';
export type { GetOptions, ObjectStore } from './object-store.ts';
export { parseContentRange, planByteRanges, rangeHeader } from './byte-ranges.ts';
export type { ByteRange } from './byte-ranges.ts';
export { FsObjectStore } from './fs-object-store.ts';
export { S3ObjectStore } from './s3-object-store.ts';
export type { S3ObjectStoreOptions } from './s3-object-store.ts';
