// Runs s3rver in its own Node process, started with --openssl-legacy-provider: s3rver 3.7
// encrypts ListObjectsV2 continuation tokens with DES, which OpenSSL 3 (Node 17+) only
// offers through the legacy provider. Prints {"port": N} on stdout once listening.
const S3rver = require('s3rver');

const [directory, bucket, port = '0'] = process.argv.slice(2);
const server = new S3rver({ address: '127.0.0.1', port: Number(port), silent: true, directory, configureBuckets: [{ name: bucket }] });
server.run().then(({ port }) => process.stdout.write(JSON.stringify({ port }) + '\n'));
process.on('SIGTERM', () => server.close().then(() => process.exit(0)));
