/**
 * A throw-away user project for scaffold tests: a folder under test/.tmp (inside the package, so
 * `eventform/runtime` and `eventform/testing` resolve through the package's self-reference and
 * node_modules, exactly as in a project that depends on eventform), holding a copy of a fixture
 * topology, a tsconfig extending the repository's and a vitest config for `services/`.
 * Commands run as child processes with the project as cwd; every child is waited for or killed.
 */
import { execFile, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const BIN = path.join(REPO_ROOT, 'generator/bin/eventform.js');
const TSC = path.join(REPO_ROOT, 'node_modules/typescript/bin/tsc');
const VITEST = path.join(REPO_ROOT, 'node_modules/vitest/vitest.mjs');

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export interface Project {
  dir: string;
  /** `eventform <args>` in the project. */
  eventform(...args: string[]): Promise<RunResult>;
  /** `tsc --noEmit -p tsconfig.json`; only diagnostics in the project's own files are returned. */
  typecheck(): Promise<{ code: number | null; errors: string[] }>;
  /** `vitest run` with the project's config and a JSON report. */
  vitest(...filters: string[]): Promise<RunResult & { report: VitestReport | undefined }>;
  path(...parts: string[]): string;
  read(rel: string): string;
  write(rel: string, text: string): void;
  cleanup(): void;
}

/** The parts of vitest's JSON reporter output the tests look at. */
export interface VitestReport {
  numPassedTests: number;
  numFailedTests: number;
  numTodoTests: number;
  testResults: {
    name: string;
    assertionResults: { title: string; fullName: string; status: string; failureMessages: string[] }[];
  }[];
}

export function createProject(fixture: string): Project {
  const dir = path.join(REPO_ROOT, 'test/.tmp', `scaffold-${randomBytes(4).toString('hex')}`);
  fs.mkdirSync(dir, { recursive: true });
  fs.copyFileSync(fixture, path.join(dir, 'topology.yaml'));
  const rel = path.relative(dir, path.join(REPO_ROOT, 'tsconfig.json')).split(path.sep).join('/');
  // The repository's tsconfig excludes test/.tmp; this one includes the project and nothing else.
  fs.writeFileSync(
    path.join(dir, 'tsconfig.json'),
    JSON.stringify({ extends: rel, include: ['**/*.ts'], exclude: [] }, null, 2) + '\n',
  );
  fs.writeFileSync(
    path.join(dir, 'vitest.config.ts'),
    "import { defineConfig } from 'vitest/config';\n\n" +
      "export default defineConfig({ test: { include: ['services/**/*.test.ts'] } });\n",
  );

  const project: Project = {
    dir,
    eventform: (...args) => run(process.execPath, [BIN, ...args], dir),
    async typecheck() {
      const result = await run(process.execPath, [TSC, '--noEmit', '-p', 'tsconfig.json', '--pretty', 'false'], dir);
      // tsc prints paths relative to the cwd: the project's own files have no `../` prefix.
      const errors = result.stdout.split('\n').filter((line) => /error TS\d+/.test(line) && !line.startsWith('..'));
      return { code: result.code, errors };
    },
    async vitest(...filters) {
      const reportFile = path.join(dir, `vitest-report-${randomBytes(3).toString('hex')}.json`);
      const args = [VITEST, 'run', '--root', dir, '--config', 'vitest.config.ts', '--reporter=json'];
      const result = await run(process.execPath, [...args, `--outputFile=${reportFile}`, ...filters], dir);
      const report = fs.existsSync(reportFile)
        ? (JSON.parse(fs.readFileSync(reportFile, 'utf8')) as VitestReport)
        : undefined;
      return { ...result, report };
    },
    path: (...parts) => path.join(dir, ...parts),
    read: (file) => fs.readFileSync(path.join(dir, file), 'utf8'),
    write(file, text) {
      fs.mkdirSync(path.dirname(path.join(dir, file)), { recursive: true });
      fs.writeFileSync(path.join(dir, file), text);
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
  return project;
}

/** The environment of a child: this test run's vitest variables removed so a nested vitest starts clean. */
function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1', FORCE_COLOR: '0' };
  for (const key of Object.keys(env)) if (key.startsWith('VITEST') || key === 'TEST') delete env[key];
  return env;
}

function run(command: string, args: string[], cwd: string, timeoutMs = 180_000): Promise<RunResult> {
  return new Promise((resolve) => {
    execFile(
      command,
      args,
      { cwd, env: childEnv(), timeout: timeoutMs, maxBuffer: 32 * 1024 * 1024 },
      (error, stdout, stderr) => {
        const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
        resolve({ code, stdout, stderr });
      },
    );
  });
}

export interface StartedService {
  /** stderr so far. */
  output(): string;
  /** Resolves with the exit code and signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  pid: number;
  kill(signal: NodeJS.Signals): void;
}

/**
 * Starts a scaffolded entry point with `node --import tsx` (the signal reaches it directly; the
 * `tsx` command would relay it through a parent process).
 */
export function startService(project: Project, mainFile: string, env: Record<string, string> = {}): StartedService {
  const child = spawn(process.execPath, ['--import', 'tsx', mainFile], {
    cwd: project.dir,
    env: { ...childEnv(), ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (d: Buffer) => void (output += d.toString()));
  child.stderr.on('data', (d: Buffer) => void (output += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('close', (code, signal) => resolve({ code, signal }));
  });
  return {
    output: () => output,
    exited,
    pid: child.pid!,
    kill: (signal) => void child.kill(signal),
  };
}
