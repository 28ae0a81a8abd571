/**
 * `--against <git ref or file>`: finds and loads the OLD topology to compare with.
 *
 * An existing file path wins. Otherwise the argument must name a commit
 * (`git rev-parse --verify <ref>^{commit}`), and the old topology — plus every external schema
 * file it references — is read from that commit with `git show <commit>:<path>`, the path being
 * the current topology's path relative to the repository root. Neither → a usage error.
 */
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { loadTopology, type LoadResult } from '../spec/index.js';

/** A command-line mistake: the CLI prints the message and exits 2. */
export class CheckUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CheckUsageError';
  }
}

export interface OldTopology {
  /** How `--against` was understood: `old.yaml`, or `HEAD~1 (3f2c1ab)`. */
  label: string;
  kind: 'file' | 'git';
  /** Where the old topology was read from, for messages: `old.yaml` or `HEAD~1:topology.yaml`. */
  source: string;
  /** `null` when the topology does not exist at that ref (a topology new in this change). */
  result: LoadResult | null;
  /** Why `result` is null. */
  missingReason?: string | undefined;
}

/**
 * @param spec the `--against` argument.
 * @param topologyFile the NEW topology's path (relative to `cwd` or absolute).
 * @throws CheckUsageError when `spec` is neither an existing file nor a commit.
 */
export function loadAgainst(spec: string, topologyFile: string, cwd: string): OldTopology {
  if (spec.trim() === '') throw new CheckUsageError('--against needs a git ref or a file path');
  const asFile = path.resolve(cwd, spec);
  if (isFile(asFile)) {
    return { label: spec, kind: 'file', source: spec, result: loadTopology(asFile) };
  }
  const topoAbs = realFile(path.resolve(cwd, topologyFile));
  const dir = path.dirname(topoAbs);
  const root = git(dir, ['rev-parse', '--show-toplevel']);
  if (!root.ok) {
    throw new CheckUsageError(
      `--against '${spec}' is not an existing file, and ${path.relative(cwd, dir) || '.'} is not inside a git repository to resolve it as a ref`,
    );
  }
  // `--end-of-options` keeps a ref that starts with '-' from being read as an option.
  const commit = git(dir, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${spec}^{commit}`]);
  if (!commit.ok) {
    throw new CheckUsageError(
      `--against '${spec}' is neither an existing file nor a git revision (try a branch, tag, sha or HEAD~1; in CI, fetch history with fetch-depth: 0)`,
    );
  }
  const repoRoot = realDir(root.out.trim());
  const sha = commit.out.trim();
  const rel = toPosix(path.relative(repoRoot, topoAbs));
  const label = `${spec} (${sha.slice(0, 7)})`;
  const source = `${spec}:${rel}`;
  const text = git(repoRoot, ['show', `${sha}:${rel}`]);
  if (!text.ok) {
    return { label, kind: 'git', source, result: null, missingReason: `${rel} does not exist at ${spec}` };
  }
  const readFile = (abs: string): string => {
    const relSchema = toPosix(path.relative(repoRoot, abs));
    if (relSchema.startsWith('../')) throw new Error(`${abs} is outside the repository`);
    const r = git(repoRoot, ['show', `${sha}:${relSchema}`]);
    if (!r.ok) throw Object.assign(new Error(`${relSchema} does not exist at ${spec}`), { code: 'ENOENT' });
    return r.out;
  };
  const result = loadTopology(topoAbs, { text: text.out, readFile });
  // Diagnostics of the old topology point into the commit, not the working tree.
  for (const d of result.diagnostics) {
    if (path.resolve(d.file) === topoAbs) d.file = source;
    else if (path.isAbsolute(d.file)) d.file = `${spec}:${toPosix(path.relative(repoRoot, d.file))}`;
  }
  return { label, kind: 'git', source, result };
}

function git(cwd: string, args: string[]): { ok: true; out: string } | { ok: false; out: string } {
  try {
    const out = execFileSync('git', args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      maxBuffer: 64 * 1024 * 1024,
      timeout: 30_000,
    });
    return { ok: true, out };
  } catch (err) {
    return { ok: false, out: String((err as { stderr?: unknown }).stderr ?? '') };
  }
}

function isFile(p: string): boolean {
  try {
    return fs.statSync(p).isFile();
  } catch {
    return false;
  }
}

/** Resolves symlinks in the directory part (temp dirs on macOS live behind one). */
function realFile(p: string): string {
  try {
    return path.join(fs.realpathSync(path.dirname(p)), path.basename(p));
  } catch {
    return p;
  }
}

function realDir(p: string): string {
  try {
    return fs.realpathSync(p);
  } catch {
    return p;
  }
}

function toPosix(p: string): string {
  return p.split(path.sep).join('/');
}
