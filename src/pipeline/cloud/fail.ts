/**
 * The failure path: records a failed step in the run record; publishes nothing.
 *
 * IAM (the fail function): s3:GetObject + s3:PutObject on runs/*.
 */
import type { ObjectStore } from '../../storage/object-store.ts';
import { recordRunFailure, type RunOwner, type RunRecord } from '../run-record.ts';

/** Records a failure; publishes nothing; never overwrites a terminal record (see {@link recordRunFailure}). */
export async function failRun(store: ObjectStore, input: { runId: string; step: string; error: unknown; owner?: RunOwner }): Promise<RunRecord> {
  const e = input.error as { name?: string; message?: string; Error?: string; Cause?: string } | undefined;
  // Step Functions passes {Error, Cause}; in-process callers pass the Error itself.
  const name = e?.name ?? e?.Error ?? 'Error';
  const message = e?.message ?? e?.Cause ?? String(input.error);
  return recordRunFailure(store, input.runId, { step: input.step, name, message }, { owner: input.owner });
}
