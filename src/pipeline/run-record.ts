/**
 * The run record (`runs/{id}/status.json`) as a small state machine with ownership.
 *
 *   STARTED -> VALIDATED -> EMBEDDED -> TRAINED -> SUCCEEDED
 *      \___________\___________\__________\______-> FAILED
 *
 * A non-terminal record carries a lease: who works on the run and until when. The owner
 * renews it while a step works (a heartbeat); a record whose lease has expired, or whose owner
 * is a process of this machine that no longer exists, is stale and may be taken over by the
 * next start of the same run. Records are created with a create-if-absent write and changed
 * with compare-and-swap writes (the version tag read), so concurrent writers never both win.
 * A terminal record is never changed again except by a deliberate restart of a FAILED run.
 */
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { NotFoundError, PreconditionFailedError, RequestError, SimpairError } from '../errors.ts';
import type { ObjectStore } from '../storage/object-store.ts';
import { keys } from './layout.ts';
import type { RunOptions } from './run-options.ts';

export type RunState = 'STARTED' | 'VALIDATED' | 'EMBEDDED' | 'TRAINED' | 'SUCCEEDED' | 'FAILED';

/** States after which nothing more happens to a run. */
export const TERMINAL_STATES: ReadonlySet<RunState> = new Set(['SUCCEEDED', 'FAILED']);

/** Who works on a non-terminal run and until when. */
export interface RunLease {
  /** `host/pid/random`: the process that owns the run. */
  owner: string;
  /** ISO time after which the run is stale unless renewed. */
  expiresAt: string;
  /** Length of one renewal, in milliseconds. */
  durationMs: number;
}

/** What `runs/{id}/status.json` holds. */
export interface RunRecord {
  runId: string;
  datasetKey: string;
  datasetSha256: string;
  /** Version of the dataset object the run read (size and store version tag), to notice a later overwrite. */
  datasetVersion?: { size: number; etag: string };
  state: RunState;
  options: RunOptions;
  /** 1 for the first attempt; +1 on each take-over of a stale run or restart of a failed one. */
  attempt: number;
  /** Present while the run is not terminal. */
  lease?: RunLease;
  /** When this attempt was started (a restart of a FAILED run starts anew); publication follows this order. */
  startedAt: string;
  /** Which step failed and why, when state is FAILED. */
  error?: { step: string; name: string; message: string };
  counts?: { rows: number; positives: number; negatives: number };
  shards?: number;
  /** The id of the stored embeddings the run trains on (keys.embeddings), set at validation. */
  embeddingId?: string;
  /** True when those embeddings were already stored (by a run with other training options) and nothing was embedded. */
  embeddingsReused?: boolean;
  modelVersion?: string;
  /** Who asked for the run (`POST /train`: the API caller's IAM ARN or API key id, source address, request id); absent for an upload. */
  requestedBy?: { userArn?: string; apiKeyId?: string; sourceIp?: string; requestId?: string };
  /** Where the training job trained: the device TensorFlow used and the TF.js backend package. */
  training?: { device: 'gpu' | 'cpu'; backend: string };
  metrics?: Record<string, unknown>;
  /** Set when SUCCEEDED: whether its model went live, or which newer run's model was already live. */
  publication?: { live: boolean; supersededBy?: string; reason?: string };
  createdAt: string;
  updatedAt: string;
}

/** A process (or state machine execution) that works on runs. */
export interface RunOwner {
  readonly id: string;
  /** Lease length given to runs it takes. */
  readonly leaseMs: number;
}

/** Default lease of a local run: renewed every third of it while a step works. */
export const DEFAULT_LEASE_MS = 60_000;

/**
 * Owners of this process that are alive, with the runs each holds (queued or working): every
 * owner {@link newRunOwner} made, until released; a backend narrows it with {@link holdRuns}.
 */
const liveOwners = new Map<string, (runId: string) => boolean>();

/**
 * An owner identity for this process: `host/pid/random`, so that a restarted process (same
 * host, maybe the same pid) is never mistaken for the one that died.
 *
 * @example
 * const owner = newRunOwner(30_000);
 */
export function newRunOwner(leaseMs: number = DEFAULT_LEASE_MS): RunOwner {
  if (!(Number.isInteger(leaseMs) && leaseMs >= 100)) throw new SimpairError(`Lease must be an integer of at least 100 ms, got ${leaseMs}.`);
  const owner = { id: `${hostname()}/${process.pid}/${randomUUID().slice(0, 8)}`, leaseMs };
  liveOwners.set(owner.id, () => true); // alive and holding its runs until a backend says otherwise (holdRuns) or releases it
  return owner;
}

let defaultOwner: RunOwner | undefined;

/** This process's owner with the default lease: what starts and steps use when the caller names none. */
export function processRunOwner(): RunOwner {
  defaultOwner ??= newRunOwner();
  return defaultOwner;
}

/** The owner lost the run: its lease expired and another owner took it over (or it ended elsewhere). */
export class LeaseLostError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'LeaseLostError';
  }
}

/** A step asked of a run in a state where it cannot happen (e.g. publishing a FAILED run). */
export class RunStateError extends SimpairError {
  constructor(message: string) {
    super(message);
    this.name = 'RunStateError';
  }
}

export const nowIso = () => new Date().toISOString();

export function leaseFor(owner: RunOwner, at = Date.now()): RunLease {
  return { owner: owner.id, expiresAt: new Date(at + owner.leaseMs).toISOString(), durationMs: owner.leaseMs };
}


/** Registers a live owner of this process and which runs it holds, for {@link isStale}. */
export function holdRuns(owner: RunOwner, holds: (runId: string) => boolean): void {
  liveOwners.set(owner.id, holds);
}

/** The owner is gone (its backend closed): its runs may be taken over by others of this process at once. */
export function releaseRunOwner(owner: RunOwner): void {
  liveOwners.delete(owner.id);
  releasedOwners.add(owner.id);
}

const releasedOwners = new Set<string>();

/**
 * How long past its expiry a lease of another host is still honoured, for clocks that
 * disagree and a renewal in flight: half the lease, at least a second.
 */
export function leaseMargin(lease: RunLease): number {
  return Math.max(1000, Math.floor(lease.durationMs / 2));
}

/**
 * Whether a non-terminal record may be taken over, i.e. its owner is provably gone:
 * - no lease (a record from before leases): yes;
 * - an owner of this host (`host/pid/...`): only when that process no longer exists, however
 *   late its lease is (a living process renews from a timer; a lapse means a slow store or a
 *   busy machine, not a dead owner). An owner of this very process: when it was released, or
 *   it no longer holds the run and the lease expired (it gave the run up, e.g. the store was
 *   down when the run's failure was to be recorded); an unknown owner with this process's pid
 *   (a dead predecessor) once its lease expired with the margin;
 * - any other owner (another host, a state machine execution): when the lease expired more
 *   than {@link leaseMargin} ago. The take-over itself is a compare-and-swap on the record
 *   read, so a renewal in between wins.
 */
export function isStale(record: RunRecord, at = Date.now()): boolean {
  if (TERMINAL_STATES.has(record.state)) return false;
  if (!record.lease) return true;
  const expired = Date.parse(record.lease.expiresAt) <= at;
  const [host, pid] = record.lease.owner.split('/');
  if (host === hostname() && /^\d+$/.test(pid ?? '')) {
    if (Number(pid) === process.pid) {
      const holds = liveOwners.get(record.lease.owner);
      if (holds) return expired && !holds(record.runId);
      if (releasedOwners.has(record.lease.owner)) return true;
      // A predecessor whose pid we reuse (or a sandbox that shares our host name and pid): its lease decides.
      return Date.parse(record.lease.expiresAt) + leaseMargin(record.lease) <= at;
    }
    try {
      process.kill(Number(pid), 0);
      return false;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code === 'ESRCH';
    }
  }
  return Date.parse(record.lease.expiresAt) + leaseMargin(record.lease) <= at;
}

function checkRunId(runId: string): void {
  if (!/^[\w-]{1,128}$/.test(runId)) {
    const shown = runId.length > 60 ? `${runId.slice(0, 59)}…` : runId;
    throw new RequestError(`Run id "${shown}" is not valid; ids are 1 to 128 letters, digits, - and _.`);
  }
}

/** Reads a run record with its version tag; undefined when there is none. */
export async function readRun(store: ObjectStore, runId: string): Promise<{ record: RunRecord; etag: string } | undefined> {
  checkRunId(runId);
  for (let attempt = 1; ; attempt++) {
    let found: { body: Uint8Array; etag: string };
    try {
      found = await store.getVersioned(keys.runStatus(runId));
    } catch (err) {
      if (err instanceof NotFoundError) return undefined;
      // A response cut off mid-body is not retried by the SDK; the record is small, read it again.
      if (attempt >= 3 || !isCutOff(err)) throw err;
      await new Promise((r) => setTimeout(r, 50 * attempt));
      continue;
    }
    try {
      return { record: JSON.parse(Buffer.from(found.body).toString('utf8')) as RunRecord, etag: found.etag };
    } catch (err) {
      // S3 and the disk store never show half an object, but some S3-compatible servers (s3rver)
      // serve an object while it is being replaced: read it again.
      if (attempt >= 5) throw new SimpairError(`Run record ${keys.runStatus(runId)} in ${store.location} is not valid JSON (${(err as Error).message}); restore it or delete the run.`, { cause: err });
      await new Promise((r) => setTimeout(r, 20 * attempt));
    }
  }
}

function isCutOff(err: unknown): boolean {
  const e = err as { message?: string; code?: string };
  return e?.message === 'aborted' || e?.code === 'ECONNRESET' || e?.code === 'ERR_STREAM_PREMATURE_CLOSE';
}

/** Reads a run record; {@link NotFoundError} when there is none. */
export async function getRun(store: ObjectStore, runId: string): Promise<RunRecord> {
  const found = await readRun(store, runId);
  if (!found) throw new NotFoundError(`No run "${runId}" in ${store.location}.`);
  return found.record;
}

const serialize = (record: RunRecord) => JSON.stringify(record, null, 2) + '\n';

/** Creates a record only if the run has none; false when another writer created it first. */
export async function createRun(store: ObjectStore, record: RunRecord): Promise<boolean> {
  try {
    await store.putIf(keys.runStatus(record.runId), serialize(record), { ifNoneMatch: '*' });
    return true;
  } catch (err) {
    if (err instanceof PreconditionFailedError) return false;
    throw err;
  }
}

/**
 * Compare-and-swap update: reads the record, lets `change` compute the next one (or return
 * undefined to leave it), writes it only if nobody wrote in between, and retries otherwise.
 */
export function updateRun(store: ObjectStore, runId: string, change: (record: RunRecord) => RunRecord | undefined): Promise<RunRecord> {
  // Updates through one store object take turns too, so a heartbeat cannot undo a transition
  // where the store ignores the condition (s3rver); between processes the condition decides.
  return inProcessTurn(store, `update:${runId}`, () => compareAndSwap(store, runId, change));
}

async function compareAndSwap(store: ObjectStore, runId: string, change: (record: RunRecord) => RunRecord | undefined): Promise<RunRecord> {
  for (let attempt = 0; ; attempt++) {
    const found = await readRun(store, runId);
    if (!found) throw new NotFoundError(`No run "${runId}" in ${store.location}.`);
    const next = change(found.record);
    if (!next) return found.record;
    const record = { ...next, updatedAt: nowIso() };
    try {
      await store.putIf(keys.runStatus(runId), serialize(record), { ifMatch: found.etag });
      return record;
    } catch (err) {
      if (!(err instanceof PreconditionFailedError) || attempt >= 20) throw err;
      await new Promise((r) => setTimeout(r, Math.random() * 10 * (attempt + 1)));
    }
  }
}

const turnsByStore = new WeakMap<ObjectStore, Map<string, Promise<unknown>>>();

/** Runs `fn` after every earlier call for the same store object and key has settled. */
export async function inProcessTurn<T>(store: ObjectStore, key: string, fn: () => Promise<T>): Promise<T> {
  let turns = turnsByStore.get(store);
  if (!turns) turnsByStore.set(store, (turns = new Map()));
  const previous = turns.get(key) ?? Promise.resolve();
  const mine = previous.catch(() => undefined).then(fn);
  turns.set(key, mine);
  try {
    return await mine;
  } finally {
    if (turns.get(key) === mine) turns.delete(key);
  }
}

/**
 * Moves a run to its next state (or keeps it, to renew the lease) on behalf of `owner`. With
 * an owner, the record must still be leased to it ({@link LeaseLostError} otherwise) and the
 * lease is renewed; without one (a state machine step) the lease is renewed for whoever holds it.
 * A terminal run is refused with a {@link RunStateError}.
 */
export async function advanceRun(store: ObjectStore, runId: string, patch: Partial<RunRecord>, owner?: RunOwner): Promise<RunRecord> {
  return updateRun(store, runId, (record) => {
    assertOwned(record, owner);
    const lease = owner ? leaseFor(owner) : record.lease && { ...record.lease, expiresAt: new Date(Date.now() + record.lease.durationMs).toISOString() };
    const next = { ...record, ...patch, lease };
    if (TERMINAL_STATES.has(next.state)) delete next.lease;
    return next;
  });
}

/** Throws unless the run is not terminal and (with an owner) still leased to it. */
export function assertOwned(record: RunRecord, owner?: RunOwner): void {
  if (TERMINAL_STATES.has(record.state)) {
    if (owner) throw new LeaseLostError(`Run ${record.runId} is already ${record.state}; ${owner.id} stops working on it.`);
    throw new RunStateError(`Run ${record.runId} is already ${record.state}${record.error ? ` (${record.error.step}: ${record.error.message})` : ''}; start a new run instead.`);
  }
  if (owner && record.lease && record.lease.owner !== owner.id) {
    throw new LeaseLostError(`Run ${record.runId} is now owned by ${record.lease.owner} (lease until ${record.lease.expiresAt}); ${owner.id} stops working on it.`);
  }
}

/** Renews the owner's lease on a run (a heartbeat); {@link LeaseLostError} if it is no longer the owner's. */
export function renewLease(store: ObjectStore, runId: string, owner: RunOwner): Promise<RunRecord> {
  return advanceRun(store, runId, {}, owner);
}

/**
 * Records that a run failed, with the reason; idempotent and never overwrites a terminal
 * record (a SUCCEEDED run stays SUCCEEDED, a FAILED one keeps its first reason). This is the
 * function the cloud's failure paths call (the state machine's Catch through the fail-run
 * Lambda, and the rule on executions that FAILED, TIMED_OUT or were ABORTED).
 *
 * @example
 * await recordRunFailure(store, 'run-0123456789abcdef-89abcdef', { step: 'execution', name: 'States.Timeout', message: 'Execution timed out after 24 h' });
 * await recordRunFailure(store, runId, 'interrupted');
 */
export async function recordRunFailure(
  store: ObjectStore,
  runId: string,
  reason: string | { step?: string; name?: string; message: string },
  options: { owner?: RunOwner } = {},
): Promise<RunRecord> {
  const error = typeof reason === 'string' ? { step: 'run', name: 'RunFailed', message: reason } : { step: reason.step ?? 'run', name: reason.name ?? 'RunFailed', message: reason.message };
  return updateRun(store, runId, (record) => {
    if (TERMINAL_STATES.has(record.state)) return undefined;
    if (options.owner && record.lease && record.lease.owner !== options.owner.id && !isStale(record)) return undefined;
    const next: RunRecord = { ...record, state: 'FAILED', error };
    delete next.lease;
    return next;
  });
}
