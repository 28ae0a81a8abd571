/** BROKER=rabbitmq: the URL comes from the env the caller passes, and an empty value means the default. */
import { describe, expect, it } from 'vitest';
import { transportFromEnv } from '@eventform/rabbitmq';

const urlOf = (env: NodeJS.ProcessEnv) =>
  (transportFromEnv({ env, clientName: 'from-env-test' }) as unknown as { url: string }).url;

describe('rabbitmq transportFromEnv', () => {
  it('reads EVENTFORM_RABBITMQ_URL from the env it is given, not from process.env', () => {
    const saved = process.env['EVENTFORM_RABBITMQ_URL'];
    process.env['EVENTFORM_RABBITMQ_URL'] = 'amqp://process:env@10.0.0.1:5672';
    try {
      expect(urlOf({ EVENTFORM_RABBITMQ_URL: 'amqp://given:env@10.0.0.2:5672' })).toBe(
        'amqp://given:env@10.0.0.2:5672',
      );
      expect(urlOf({})).toBe('amqp://guest:guest@127.0.0.1:5672');
    } finally {
      if (saved === undefined) delete process.env['EVENTFORM_RABBITMQ_URL'];
      else process.env['EVENTFORM_RABBITMQ_URL'] = saved;
    }
  });

  it('takes an empty EVENTFORM_RABBITMQ_URL as unset', () => {
    expect(urlOf({ EVENTFORM_RABBITMQ_URL: '' })).toBe('amqp://guest:guest@127.0.0.1:5672');
  });
});
