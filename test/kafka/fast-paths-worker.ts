/**
 * Run by kafkajs-internals.test.ts in a fresh process (`node --import tsx`): constructs one
 * KafkaTransport — after loading kafkajs' record batch decoder first when asked to (`late`) — and
 * prints which fast paths the process got and the warnings the transport logged, as one JSON line.
 */
import { createRequire } from 'node:module';
import type { Logger } from '@eventform/runtime';
import { KafkaTransport } from '../../runtime/kafka/src/transport.js';

if (process.argv[2] === 'late') {
  // As if other kafkajs code in the process had fetched before the transport was constructed.
  createRequire(import.meta.url)('kafkajs/src/protocol/recordBatch/v0/decoder.js');
}
const warnings: { message: string; fields?: Record<string, unknown> }[] = [];
const quiet = () => undefined;
const logger: Logger = {
  debug: quiet,
  info: quiet,
  warn: (message, fields) => void warnings.push({ message, fields }),
  error: quiet,
};
const transport = new KafkaTransport({ brokers: '127.0.0.1:1', logger });
process.stdout.write(`${JSON.stringify({ paths: transport.fastPaths, warnings })}\n`);
