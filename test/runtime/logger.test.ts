import { describe, expect, it } from 'vitest';
import {
  childLogger,
  createJsonLogger,
  isLevelEnabled,
  levelFromEnv,
  prettyLogger,
  silentLogger,
} from '@eventform/runtime';

describe('loggers', () => {
  it.each([
    [undefined, 'info'],
    ['debug', 'debug'],
    [' WARN ', 'warn'],
    ['silent', 'silent'],
    ['loud', 'info'],
  ])('EVENTFORM_LOG=%j → %s', (value, level) => {
    expect(levelFromEnv(value === undefined ? {} : { EVENTFORM_LOG: value })).toBe(level);
  });

  it('writes one JSON object per line, filtered by level, errors serialised', () => {
    const lines: string[] = [];
    const logger = createJsonLogger({ level: 'info', write: (l) => lines.push(l), fields: { app: 'x' } });
    logger.debug('hidden');
    logger.info('hello', { n: 1 });
    logger.error('failed', { error: new Error('boom') });
    expect(lines).toHaveLength(2);
    expect(lines.every((l) => l.endsWith('\n'))).toBe(true);
    const [info, error] = lines.map((l) => JSON.parse(l));
    expect(info).toMatchObject({ level: 'info', msg: 'hello', n: 1, app: 'x' });
    expect(typeof info.time).toBe('string');
    expect(error.error).toMatchObject({ name: 'Error', message: 'boom' });
    expect(error.error.stack).toContain('boom');
  });

  it('child loggers add fields and keep the level', () => {
    const lines: string[] = [];
    const child = childLogger(createJsonLogger({ level: 'warn', write: (l) => lines.push(l) }), { consumer: 'a.b' });
    child.info('hidden');
    child.warn('shown', { attempt: 2 });
    expect(JSON.parse(lines[0]!)).toMatchObject({ msg: 'shown', consumer: 'a.b', attempt: 2 });
    expect(isLevelEnabled(child, 'debug')).toBe(false);
    expect(isLevelEnabled(child, 'error')).toBe(true);
  });

  it('isLevelEnabled assumes foreign loggers log everything', () => {
    expect(isLevelEnabled(console, 'debug')).toBe(true);
    expect(isLevelEnabled(silentLogger, 'error')).toBe(false);
  });

  it('pretty logger writes readable lines without colour when asked', () => {
    const lines: string[] = [];
    const logger = prettyLogger({ level: 'debug', color: false, write: (l) => lines.push(l) });
    logger.warn('handler failed; retry scheduled', {
      consumer: 'inv.reserve',
      error: new Error('db down'),
      note: 'two words',
    });
    expect(lines[0]).toMatch(
      /^\d\d:\d\d:\d\d\.\d{3} WARN {2}handler failed; retry scheduled consumer=inv\.reserve error="db down" note="two words"\n$/,
    );
  });
});
