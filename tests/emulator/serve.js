// telegram-test-api on 127.0.0.1:PORT (the first argument), for tests/test_telegram_emulator.py: prints
// "ready" once listening, and stops when its stdin closes (the test ended, or died).
const TelegramServer = require('telegram-test-api');

const server = new TelegramServer({ port: Number(process.argv[2]), host: '127.0.0.1', storeTimeout: 600 });
server.start().then(() => {
  process.stdout.write('ready\n');
});
process.stdin.on('end', () => {
  server.stop().then(() => process.exit(0));
});
process.stdin.resume();
