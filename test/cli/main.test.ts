/** `run()` in process: exit codes and what reaches stderr for each kind of failure. */
import { Command } from 'commander';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { buildProgram, run } from '../../generator/src/cli/main.js';
import { EXIT, UserError, exitCodeFor } from '../../generator/src/cli/shared.js';

function capture() {
  let err = '';
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: string | Uint8Array) => {
    err += String(chunk);
    return true;
  });
  vi.spyOn(process.stdout, 'write').mockImplementation(() => true);
  return () => err;
}

const failing = (error: unknown) => ({
  register(program: Command) {
    program.command('boom').action(() => {
      throw error;
    });
  },
});

afterEach(() => {
  vi.restoreAllMocks();
  process.exitCode = undefined;
});

describe('run()', () => {
  it('prints a user error as one line and uses its exit code', async () => {
    const stderr = capture();
    const program = await buildProgram([failing(new UserError('generated/ is out of date', EXIT.invalid))]);
    expect(await run(['node', 'eventform', 'boom'], program)).toBe(EXIT.invalid);
    expect(stderr()).toBe('error: generated/ is out of date\n');
  });

  it('hides the stack of an internal error unless --debug is given', async () => {
    const stderr = capture();
    const bug = new TypeError('cannot read x of undefined');
    expect(await run(['node', 'eventform', 'boom'], await buildProgram([failing(bug)]))).toBe(EXIT.internal);
    expect(stderr()).toBe(
      'internal error: cannot read x of undefined\n(this is a bug in eventform; run with --debug for details)\n',
    );
    expect(stderr()).not.toMatch(/\n\s+at /);

    const stderr2 = capture();
    expect(await run(['node', 'eventform', '--debug', 'boom'], await buildProgram([failing(bug)]))).toBe(EXIT.internal);
    expect(stderr2()).toMatch(/internal error: TypeError: cannot read x of undefined\n\s+at /);
  });

  it('loads every command module that exists, or only the one argv names', async () => {
    const all = await buildProgram();
    expect(all.commands.map((c) => c.name())).toContain('validate');
    const one = await buildProgram(undefined, ['node', 'eventform', '--debug', 'validate', 'x.yaml']);
    expect(one.commands.map((c) => c.name())).toEqual(['validate']);
    const help = await buildProgram(undefined, ['node', 'eventform', 'help', 'validate']);
    expect(help.commands.length).toBe(all.commands.length);
  });
});

describe('exitCodeFor', () => {
  const d = (code: string, severity: 'error' | 'warning') => ({
    code,
    severity,
    message: '',
    file: 'f',
    line: 1,
    col: 1,
  });
  it.each([
    [[], EXIT.ok],
    [[d('EF9001', 'warning')], EXIT.ok],
    [[d('EF2001', 'error')], EXIT.invalid],
    [[d('EF1001', 'error')], EXIT.usage],
  ] as const)('%j → %i', (diags, code) => {
    expect(exitCodeFor([...diags])).toBe(code);
  });
});
