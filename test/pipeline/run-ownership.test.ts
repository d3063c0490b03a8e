import { spawnSync } from 'node:child_process';
import { hostname } from 'node:os';
import { describe, expect, it } from 'vitest';
import { holdRuns, isStale, newRunOwner, releaseRunOwner, type RunRecord } from '../../src/pipeline/run-record.ts';

const now = Date.now();
/** A non-terminal record leased to `owner`, expiring `expiresIn` ms from now (negative: expired). */
function leased(owner: string, expiresIn: number, durationMs = 1000): RunRecord {
  return {
    runId: 'run-1',
    datasetKey: 'datasets/a.tsv',
    datasetSha256: 'a'.repeat(64),
    state: 'EMBEDDED',
    options: {} as RunRecord['options'],
    attempt: 1,
    lease: { owner, expiresAt: new Date(now + expiresIn).toISOString(), durationMs },
    startedAt: '',
    createdAt: '',
    updatedAt: '',
  };
}

describe('isStale: a run is taken over only when its owner is provably gone', () => {
  it('same host, a living process: never, however long ago its lease expired', () => {
    expect(isStale(leased(`${hostname()}/${process.ppid}/abc`, -3_600_000), now)).toBe(false);
  });

  it('same host, a process that no longer exists: at once, even with a lease still running', () => {
    const dead = spawnSync(process.execPath, ['-e', '0']).pid!;
    expect(isStale(leased(`${hostname()}/${dead}/abc`, 60_000), now)).toBe(true);
  });

  it('another host: only once the lease expired more than the margin (half the lease, at least 1 s) ago', () => {
    expect(isStale(leased('elsewhere/123/abc', -500), now)).toBe(false);
    expect(isStale(leased('elsewhere/123/abc', -1001), now)).toBe(true);
    expect(isStale(leased('elsewhere/123/abc', -4000, 10_000), now)).toBe(false);
    expect(isStale(leased('elsewhere/123/abc', -5001, 10_000), now)).toBe(true);
  });

  it('this process: not while its owner holds the run; once it gave the run up and the lease expired; at once when released', () => {
    const owner = newRunOwner(1000);
    let holding = true;
    holdRuns(owner, () => holding);
    expect(isStale(leased(owner.id, -10_000), now)).toBe(false);
    holding = false;
    expect(isStale(leased(owner.id, 500), now)).toBe(false);
    expect(isStale(leased(owner.id, -1), now)).toBe(true);
    releaseRunOwner(owner);
    expect(isStale(leased(owner.id, 60_000), now)).toBe(true);
  });

  it('an unknown owner with this pid (a predecessor that reused it): its lease with the margin decides', () => {
    const id = `${hostname()}/${process.pid}/ffffffff`;
    expect(isStale(leased(id, -500), now)).toBe(false);
    expect(isStale(leased(id, -1500), now)).toBe(true);
  });
});
