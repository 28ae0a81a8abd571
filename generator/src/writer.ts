/**
 * The only code of the generator that touches disk.
 *
 * The output directory is wholly owned by the generator once it carries the marker file
 * (`.eventform`): a write makes it hold exactly the file map — changed files rewritten, files not
 * in the map deleted, unchanged files left alone (mtime kept, so watchers stay quiet). A
 * non-empty directory without the marker is somebody else's and is never written to.
 *
 * Stub files (user-owned) are written through {@link writeUserFile}, which only ever creates or
 * replaces the one file it is given.
 */
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import type { FileMap } from './generate.js';
import { MARKER_FILE } from './generate.js';
import { GENERATE_CODES, GenerateError } from './naming.js';

/** How the output directory differs from a file map. Paths are relative, POSIX, sorted. */
export interface OutputDiff {
  /** In the map, not on disk. */
  missing: string[];
  /** On disk with different contents. */
  stale: string[];
  /** On disk, not in the map (deleted by a write). */
  orphaned: string[];
  /** Identical. */
  unchanged: string[];
}

export interface WriteResult extends OutputDiff {
  /** Files written (missing + stale). */
  written: string[];
}

/** True when `diff` shows nothing to do. */
export function inSync(diff: OutputDiff): boolean {
  return diff.missing.length === 0 && diff.stale.length === 0 && diff.orphaned.length === 0;
}

/**
 * Compare `outDir` with `files` without changing anything.
 * @throws GenerateError (EF8003) when `outDir` is a non-empty directory without the marker.
 */
export function diffOutput(outDir: string, files: FileMap): OutputDiff {
  assertOwned(outDir);
  const onDisk = new Set(listFiles(outDir));
  const diff: OutputDiff = { missing: [], stale: [], orphaned: [], unchanged: [] };
  for (const [rel, contents] of files) {
    if (!onDisk.has(rel)) diff.missing.push(rel);
    else if (fs.readFileSync(path.join(outDir, rel), 'utf8') !== contents) diff.stale.push(rel);
    else diff.unchanged.push(rel);
  }
  for (const rel of onDisk) if (!files.has(rel)) diff.orphaned.push(rel);
  diff.orphaned.sort();
  return diff;
}

/**
 * Make `outDir` hold exactly `files`: write what is missing or stale, delete what is orphaned
 * (then any directory left empty), leave the rest untouched. The marker is written last, so an
 * interrupted first run leaves a directory the next run still recognises as foreign only if it
 * was foreign before.
 * @throws GenerateError (EF8003) when `outDir` is a non-empty directory without the marker.
 */
export function writeOutput(outDir: string, files: FileMap): WriteResult {
  const diff = diffOutput(outDir, files);
  fs.mkdirSync(outDir, { recursive: true });
  for (const rel of diff.orphaned) {
    fs.rmSync(path.join(outDir, rel), { force: true });
    removeEmptyParents(outDir, path.dirname(rel));
  }
  const written = [...diff.missing, ...diff.stale].sort((a, b) => (a === MARKER_FILE ? 1 : b === MARKER_FILE ? -1 : 0));
  for (const rel of written) {
    const target = path.join(outDir, rel);
    mkdirNoLinks(outDir, path.dirname(rel));
    writeAtomic(target, files.get(rel) as string);
  }
  return { ...diff, written: [...written].sort() };
}

/** True when `outDir` does not exist, is empty, or carries a readable eventform marker. */
export function isOwned(outDir: string): boolean {
  let entries: string[];
  try {
    entries = fs.readdirSync(outDir);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return true;
    throw err;
  }
  if (entries.length === 0) return true;
  try {
    const marker = JSON.parse(fs.readFileSync(path.join(outDir, MARKER_FILE), 'utf8')) as { generator?: unknown };
    return marker.generator === 'eventform';
  } catch {
    return false;
  }
}

function assertOwned(outDir: string): void {
  refuseSymlink(outDir);
  if (fs.existsSync(outDir) && !fs.statSync(outDir).isDirectory()) {
    throw new GenerateError(GENERATE_CODES.foreignOutput, `output path ${outDir} exists and is not a directory`);
  }
  if (!isOwned(outDir)) {
    throw new GenerateError(
      GENERATE_CODES.foreignOutput,
      `refusing to write into ${outDir}: it is not empty and has no ${MARKER_FILE} marker, so it is not eventform's to wipe`,
      undefined,
      'choose an empty or new directory with --out, or empty this one yourself',
    );
  }
}

/** Every file under `dir` (symlinks listed, not followed), relative POSIX paths, sorted. */
function listFiles(dir: string): string[] {
  const out: string[] = [];
  const walk = (abs: string, rel: string): void => {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(abs, { withFileTypes: true });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw err;
    }
    for (const entry of entries) {
      const childRel = rel ? `${rel}/${entry.name}` : entry.name;
      // Never read, compare or write through a link: it may lead anywhere.
      if (entry.isSymbolicLink()) refuseSymlink(path.join(abs, entry.name));
      if (entry.isDirectory()) walk(path.join(abs, entry.name), childRel);
      else out.push(childRel);
    }
  };
  walk(dir, '');
  return out.sort();
}

function removeEmptyParents(root: string, relDir: string): void {
  let rel = relDir;
  while (rel && rel !== '.') {
    const abs = path.join(root, rel);
    try {
      if (fs.readdirSync(abs).length > 0) return;
      fs.rmdirSync(abs);
    } catch {
      return;
    }
    rel = path.dirname(rel);
  }
}

/** Read a user-owned file; `undefined` when it does not exist. */
export function readUserFile(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Create or replace one user-owned file (a stub), creating its directory; never through a link. */
export function writeUserFile(file: string, contents: string): void {
  const rel = path.relative(process.cwd(), path.resolve(file));
  // Inside the project, no folder on the way may be a link; a path the user gave outside it is theirs.
  if (rel && !rel.startsWith('..') && !path.isAbsolute(rel)) mkdirNoLinks(process.cwd(), path.dirname(rel));
  else fs.mkdirSync(path.dirname(file), { recursive: true });
  writeAtomic(file, contents);
}

/**
 * Writes `contents` to `target` all at once: into a new temporary file beside it, then renamed
 * over it, so a reader (or a crash) never sees half a file. A `target` that is a symbolic link is
 * refused, not followed: the writer writes only the files it names.
 * @throws GenerateError (EF8005) when `target` is a symbolic link
 */
export function writeAtomic(target: string, contents: string): void {
  refuseSymlink(target);
  const tmp = path.join(
    path.dirname(target),
    `.${path.basename(target)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`,
  );
  fs.writeFileSync(tmp, contents, { flag: 'wx' });
  try {
    fs.renameSync(tmp, target);
  } catch (err) {
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** `root/relDir`, created folder by folder, refusing any existing component that is a link. */
function mkdirNoLinks(root: string, relDir: string): void {
  let abs = root;
  for (const part of relDir.split(/[/\\]/).filter((p) => p && p !== '.')) {
    abs = path.join(abs, part);
    refuseSymlink(abs);
    if (!fs.existsSync(abs)) fs.mkdirSync(abs);
  }
}

function refuseSymlink(p: string): void {
  let isLink = false;
  try {
    isLink = fs.lstatSync(p).isSymbolicLink();
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (isLink) {
    throw new GenerateError(
      GENERATE_CODES.symlink,
      `refusing to write through ${p}: it is a symbolic link, and may lead outside the project`,
      undefined,
      'replace the link with a real file or directory, or choose another output path',
    );
  }
}
