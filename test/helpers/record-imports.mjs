// Loaded with `node --import` by tests that check what a process imports: every module
// specifier starting with SIMPAIR_TEST_IMPORT_PREFIX is appended, one per line, to the file
// SIMPAIR_TEST_IMPORT_LOG. Only ESM imports (what simpair's own code does) pass the hook.
import { register } from 'node:module';

register(new URL('./record-imports-hooks.mjs', import.meta.url), { data: { log: process.env.SIMPAIR_TEST_IMPORT_LOG, prefix: process.env.SIMPAIR_TEST_IMPORT_PREFIX } });
