// Fake Lambda-ish environment shared by all tests; nothing here reaches the network.
process.env.AWS_REGION ??= 'us-east-1';
process.env.AWS_ACCESS_KEY_ID ??= 'test';
process.env.AWS_SECRET_ACCESS_KEY ??= 'test';
process.env.SIMPAIR_LOG_LEVEL ??= 'silent';
process.env.HF_HUB_OFFLINE ??= '1';
