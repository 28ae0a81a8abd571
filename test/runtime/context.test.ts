import { describe, expect, it } from 'vitest';
import { currentEvent, currentScope, withCorrelation } from '@eventform/runtime';
import { runInHandlerScope } from '../../runtime/core/src/context.js';
import type { EventEnvelope } from '@eventform/runtime';

const event = { id: 'e1', correlationId: 'c1', traceparent: 'tp' } as EventEnvelope;

describe('correlation scope', () => {
  it('is empty outside any scope', () => {
    expect(currentScope()).toBeUndefined();
    expect(currentEvent()).toBeUndefined();
  });

  it('holds the handled event across awaits and timers', async () => {
    await runInHandlerScope(event, 's.h', async () => {
      await new Promise((r) => setTimeout(r, 5));
      expect(currentScope()).toMatchObject({
        correlationId: 'c1',
        causationId: 'e1',
        traceparent: 'tp',
        consumer: 's.h',
      });
      expect(currentEvent()).toBe(event);
    });
    expect(currentScope()).toBeUndefined();
  });

  it('withCorrelation sets a flow without an event; scopes nest', async () => {
    await withCorrelation({ correlationId: 'req-1' }, async () => {
      expect(currentScope()).toEqual({ correlationId: 'req-1', causationId: null });
      await runInHandlerScope(event, 's.h', async () => expect(currentScope()?.correlationId).toBe('c1'));
      expect(currentScope()?.correlationId).toBe('req-1');
    });
  });

  it('keeps concurrent scopes apart', async () => {
    const seen: string[] = [];
    await Promise.all(
      ['a', 'b', 'c'].map((id) =>
        withCorrelation({ correlationId: id }, async () => {
          await new Promise((r) => setTimeout(r, Math.random() * 10));
          seen.push(`${id}=${currentScope()!.correlationId}`);
        }),
      ),
    );
    expect(seen.sort()).toEqual(['a=a', 'b=b', 'c=c']);
  });
});
