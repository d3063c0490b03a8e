// Fake Lambda-ish environment shared by all tests; nothing here reaches the network.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.SIMPAIR_LOG_LEVEL ??= 'silent';
process.env.HF_HUB_OFFLINE ??= '1';
// One TensorFlow.js backend for every test file that does not ask for one (through
// test/helpers/tf-backends.ts): wasm, which every machine has, so results do not depend on
// whether scripts/install-tensorflow-backend.sh was run. SIMPAIR_TF_BACKEND=node npm test
// runs those files on tfjs-node instead.
process.env.SIMPAIR_TF_BACKEND ??= 'wasm';
// TensorFlow's C++ INFO/WARNING lines (tfjs-node): keep test output readable.
process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
// The pooled-vector cache (src/embedder/pooled-vector-cache.ts) would write under ~/.cache:
// off unless a test points it at a temporary directory.
process.env.SIMPAIR_POOLED_CACHE ??= 'off';
