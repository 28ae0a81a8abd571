/**
 * A Logger that prints the runtime's log as a readable saga trace: one line per step, the flow's
 * correlation id first, so the lines of one order read as one story even when flows interleave.
 */
import type { Logger } from '@eventform/runtime';

const WIDTH = 36;

export interface TraceOptions {
  write?: (line: string) => void;
  color?: boolean;
  /** Show the runtime's debug lines (every handled event). @default true */
  handled?: boolean;
}

export function traceLogger(options: TraceOptions = {}): Logger & { deadLettered: number } {
  const write = options.write ?? ((line: string) => void process.stdout.write(line + '\n'));
  const color = options.color ?? Boolean(process.stdout.isTTY && !process.env.NO_COLOR);
  const paint = (code: string, text: string) => (color ? `\x1b[${code}m${text}\x1b[0m` : text);
  const shortId = (id: unknown) => (typeof id === 'string' ? id.slice(0, 8) : '--------');

  const print = (mark: string, fields: Record<string, unknown> | undefined, text: string) => {
    const who = String(fields?.consumer ?? fields?.source ?? 'runtime');
    write(`${paint('2', shortId(fields?.correlationId))}  ${mark} ${who.padEnd(WIDTH)} ${text}`);
  };

  const logger = {
    deadLettered: 0,
    debug(message: string, fields?: Record<string, unknown>) {
      if (options.handled === false) return;
      if (message === 'event handled')
        print(paint('32', '✓'), fields, `handled ${fields?.eventType} (attempt ${fields?.attempt})`);
      else if (message === 'duplicate skipped')
        print(paint('33', '='), fields, `duplicate ${fields?.eventType} skipped`);
    },
    info(message: string, fields?: Record<string, unknown>) {
      if (fields?.consumer) print(' ', fields, message);
      else if (message !== 'runtime started' && message !== 'runtime stopped') print(' ', fields, message);
    },
    warn(message: string, fields?: Record<string, unknown>) {
      const detail = fields?.error ? `: ${fields.error}` : '';
      const next = fields?.delayMs !== undefined ? `; retry in ${fields.delayMs}ms` : '';
      print(paint('33', '↻'), fields, `${message}${detail}${next}`);
    },
    error(message: string, fields?: Record<string, unknown>) {
      if (message === 'message dead-lettered') {
        logger.deadLettered++;
        print(paint('31', '✗'), fields, `dead-lettered (${fields?.reason}): ${errorText(fields?.error)}`);
      } else if (message.startsWith('message dropped on purpose')) {
        print(
          paint('31', '✗'),
          fields,
          `dropped on purpose, deadLetter: false (${fields?.reason}): ${errorText(fields?.error)}`,
        );
      } else {
        print(paint('31', '!'), fields, `${message}${fields?.error ? `: ${errorText(fields.error)}` : ''}`);
      }
    },
  };
  return logger;
}

function errorText(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error && 'message' in error) return String((error as { message: unknown }).message);
  return String(error ?? '');
}
