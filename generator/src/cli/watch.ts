/**
 * `eventform generate --watch`: generate once, then regenerate whenever the topology or a schema
 * file it refers to changes, until Ctrl-C (SIGINT) or SIGTERM; then exit 0.
 *
 * - What is watched follows the topology: after every run the set of files is the one that run
 *   read (the topology and each `$ref`'d file, missing ones included), so a new `$ref` is watched
 *   from the run that first sees it and a dropped one is let go.
 * - Folders are watched, not files: an editor that saves by writing a temporary file and renaming
 *   it over the original replaces the inode, which a watch on the file itself would lose. A file
 *   whose folder does not exist yet is watched through its nearest existing ancestor.
 * - A burst of events (an editor writes, renames, touches) is one regeneration: it starts once
 *   no event came for `debounceMs`; events during a run queue exactly one more run.
 * - A run with errors prints the diagnostics as `generate` does and writes nothing, so the last
 *   good output stays in place.
 * - Runs share a {@link CompileCache}: the validators' and the payload types' compilation is redone
 *   only when the schemas they are compiled from changed; the output is what `generate` writes.
 */
import { existsSync, watch, type FSWatcher } from 'node:fs';
import path from 'node:path';
import { CompileCache } from '../compile-cache.js';
import { generateOnce, type GenerateCliOptions } from './generate.js';
import { EXIT, processIo, signalOnTermination, useColor, type CliIo, type ExitCode } from './shared.js';

export interface WatchOptions extends GenerateCliOptions {
  /**
   * Quiet time after the last file event before regenerating: one run per burst of editor writes.
   * @default 50
   */
  debounceMs?: number | undefined;
  /**
   * Stops watching when aborted.
   * @default aborted on the first SIGINT (Ctrl-C) or SIGTERM
   */
  signal?: AbortSignal | undefined;
  /** Told about every run, the first included (tests and the bench listen here). */
  onRun?: ((run: WatchRun) => void) | undefined;
}

export const WATCH_DEFAULTS = { debounceMs: 50 } as const;

/** One regeneration. */
export interface WatchRun {
  /** 1 for the first generation, then counting up. */
  n: number;
  /** The exit code `generate` would have had: 0 written or up to date; otherwise the output was kept. */
  exitCode: ExitCode;
  /** The changed files (absolute) that started this run; empty for the first. */
  changed: string[];
  /** Output files written, relative to the output folder. */
  written: string[];
  /** Load, generate and write, in milliseconds. */
  ms: number;
  /** The files watched from now on (absolute, sorted). */
  watched: string[];
}

/** Runs `generate --watch` until `options.signal` aborts; resolves to the exit code (0). */
export async function watchGenerate(file: string, options: WatchOptions = {}, io: CliIo = processIo): Promise<number> {
  const signal = options.signal ?? signalOnTermination();
  const debounceMs = options.debounceMs ?? WATCH_DEFAULTS.debounceMs;
  const color = useColor(process.stderr);
  const topology = path.resolve(file);

  /** Watched files (absolute) → nothing; the folder watchers below serve them. */
  let files = new Set<string>([topology]);
  /** One watcher per folder, each with the entry names in it that matter. */
  const folders = new Map<string, { watcher: FSWatcher; names: Set<string> }>();
  const changed = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  /** The run in progress, awaited before the watch ends. */
  let running: Promise<void> | undefined;
  let runs = 0;
  /** What the last run compiled, reused by the next where its input is the same (same output). */
  const cache = options.cache ?? new CompileCache();

  const onEvent = (dir: string) => (_type: string, name: string | Buffer | null) => {
    const entry = folders.get(dir);
    if (!entry) return;
    const base = name === null ? null : name.toString();
    // Without a name (some platforms) any watched entry of the folder may have changed.
    if (base !== null && !entry.names.has(base)) return;
    changed.add(base === null ? dir : path.join(dir, base));
    schedule();
  };

  const schedule = (): void => {
    if (signal.aborted) return;
    clearTimeout(timer);
    timer = setTimeout(() => void (running ?? (running = runOnce().finally(() => (running = undefined)))), debounceMs);
  };

  /** Watches the folder of every file (or its nearest existing ancestor); drops folders no longer needed. */
  const follow = (watched: Iterable<string>): void => {
    files = new Set(watched);
    files.add(topology);
    const wanted = new Map<string, Set<string>>();
    for (const f of files) {
      // A missing folder is watched through its nearest existing ancestor, for the entry on the way.
      let dir = path.dirname(f);
      let name = path.basename(f);
      while (!existsSync(dir) && path.dirname(dir) !== dir) {
        name = path.basename(dir);
        dir = path.dirname(dir);
      }
      let names = wanted.get(dir);
      if (!names) wanted.set(dir, (names = new Set()));
      names.add(name);
    }
    for (const [dir, entry] of folders) {
      if (!wanted.has(dir)) {
        entry.watcher.close();
        folders.delete(dir);
      }
    }
    for (const [dir, names] of wanted) {
      const entry = folders.get(dir);
      if (entry) {
        entry.names = names;
        continue;
      }
      try {
        const watcher = watch(dir, { persistent: true }, onEvent(dir));
        // The folder went away (or the watch broke): forget it and let a run find out what is left.
        watcher.on('error', () => {
          watcher.close();
          folders.delete(dir);
          changed.add(dir);
          schedule();
        });
        folders.set(dir, { watcher, names });
      } catch (err) {
        io.stderr(`warning: cannot watch ${dir}: ${(err as Error).message}\n`);
      }
    }
  };

  // Never two at once: a timer that fires during a run leaves `changed` for the run to reschedule.
  const runOnce = async (): Promise<void> => {
    if (signal.aborted) return;
    const started = [...changed].sort();
    changed.clear();
    const n = ++runs;
    try {
      const t0 = performance.now();
      const result = await generateOnce(file, { ...options, cache }, io, color);
      const ms = performance.now() - t0;
      follow(result.sources);
      const watched = [...files].sort();
      const shown = (f: string) => path.relative(process.cwd(), f) || f;
      if (result.exitCode === EXIT.ok) {
        io.stderr(`[watch] run ${n}: generated in ${ms.toFixed(0)} ms; watching ${watched.length} file(s)\n`);
      } else {
        io.stderr(
          `[watch] run ${n}: errors (above); the last good output is kept. Waiting for a change to ${watched.map(shown).join(', ')}\n`,
        );
      }
      options.onRun?.({ n, exitCode: result.exitCode, changed: started, written: result.written, ms, watched });
    } catch (err) {
      // An internal error must not end the watch: say so and wait for the next change.
      io.stderr(`[watch] run ${n}: internal error: ${(err as Error).message}\n`);
      options.onRun?.({ n, exitCode: EXIT.internal, changed: started, written: [], ms: 0, watched: [...files].sort() });
    }
    if (changed.size > 0) schedule();
  };

  follow(files);
  await (running = runOnce().finally(() => (running = undefined)));
  io.stderr('[watch] waiting for changes; Ctrl-C stops\n');
  await new Promise<void>((resolve) =>
    signal.aborted ? resolve() : signal.addEventListener('abort', () => resolve(), { once: true }),
  );
  clearTimeout(timer);
  await running;
  for (const { watcher } of folders.values()) watcher.close();
  folders.clear();
  io.stderr('[watch] stopped\n');
  return EXIT.ok;
}
