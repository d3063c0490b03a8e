// Imports one TypeScript module (argv[2]) through tsx and exits: with record-imports.mjs,
// tells what loading that module alone imports.
import { register } from 'tsx/esm/api';

register();
await import(process.argv[2]);
