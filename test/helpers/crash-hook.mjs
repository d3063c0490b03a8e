// Preloaded with `node --import` into a `simpair serve` child to crash it at an exact point
// of a run: after the write whose label matches SIMPAIR_TEST_CRASH_AFTER (a regex), the
// process sends itself SIGKILL, as `kill -9` would. Labels: `status:<STATE>` for a run record
// written in that state, `put:<path>` for any other object. Nothing here runs in production.
// In a run's worker process (SIMPAIR_RUN_WORKER=1, forked by serve with this hook inherited
// through NODE_OPTIONS) it kills serve, its parent, first: that is the kill -9 of serve the
// tests mean, and the worker then ends as it does when serve dies.
import fs from 'node:fs';
import { syncBuiltinESMExports } from 'node:module';

const target = new RegExp(process.env.SIMPAIR_TEST_CRASH_AFTER ?? '^$');
const promises = fs.promises;

function label(dest) {
  const path = String(dest).split('\\').join('/');
  if (path.endsWith('/status.json')) {
    try {
      return `status:${JSON.parse(fs.readFileSync(dest, 'utf8')).state}`;
    } catch {
      return 'status:?';
    }
  }
  return `put:${path}`;
}

for (const name of ['rename', 'link']) {
  const original = promises[name];
  promises[name] = async function (from, to) {
    const result = await original.call(this, from, to);
    if (target.test(label(to))) {
      if (process.env.SIMPAIR_RUN_WORKER === '1') process.kill(process.ppid, 'SIGKILL');
      process.kill(process.pid, 'SIGKILL');
    }
    return result;
  };
}
syncBuiltinESMExports();
