export { getJson, putJson } from './object-store.ts';
export type { ObjectStore } from './object-store.ts';
export { FsObjectStore } from './fs-object-store.ts';
export { S3ObjectStore } from './s3-object-store.ts';
export type { S3ObjectStoreOptions } from './s3-object-store.ts';
