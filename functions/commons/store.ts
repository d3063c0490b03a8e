import { S3ObjectStore } from '../../src/storage/s3-object-store.ts';
import type { ObjectStore } from '../../src/storage/object-store.ts';
import { ENV_NAMES } from './env-names.ts';
import { requireEnv } from './env.ts';

let store: ObjectStore | undefined;

/** The run bucket as an {@link ObjectStore}, created once per container. */
export function pipelineStore(): ObjectStore {
  store ??= new S3ObjectStore({ bucket: requireEnv(ENV_NAMES.bucket) });
  return store;
}
