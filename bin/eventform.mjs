#!/usr/bin/env node
/**
 * Launcher: runs the TypeScript CLI (generator/cli/main.ts) without a build step, so
 * `npx eventform` works from a checkout and from an install.
 *
 * Fast path: the CLI and every file of this package it imports are bundled by esbuild (the
 * compiler tsx itself uses) into `node_modules/.cache/eventform/<hash>/`, and plain Node runs
 * that. tsx's loader hooks run on a separate thread that every import must cross: 0.5-1 s of CPU
 * per start, more than validating or generating a typical topology. Each command and each
 * lazily imported module is a chunk of its own, so `validate` and `--help` still load only what
 * they need. `<hash>` covers the content of every bundled file (listed in `manifest.json`) plus
 * package.json, tsconfig.json and this launcher: an edit simply means a new bundle (~0.2 s) on
 * the next run, nothing is ever invalidated by hand, and bundles unused for an hour are deleted.
 * Dependencies stay external and load from node_modules as usual; each module keeps its own
 * `import.meta.url`, so files next to the sources resolve as before; with `--debug`, stack
 * traces point at the .ts sources.
 *
 * Fallback: tsx's ESM loader, exactly as before, when `EVENTFORM_LAUNCHER=tsx` is set, when the
 * cache cannot be written, or when the bundle cannot be built (esbuild missing; a syntax error,
 * which tsx then reports as it always did). `EVENTFORM_CACHE_DIR` moves the cache (tests); it
 * must be inside the package, since the bundle's dependencies resolve from where it is.
 */
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { URL, fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const ENTRY = 'generator/cli/main.ts';
/** Files that change the bundle without being imported by it: this launcher holds the build options. */
const ALWAYS_HASHED = ['bin/eventform.mjs', 'package.json', 'tsconfig.json'];
/** Manifest format. */
const BUILD_FORMAT = 'eventform-cli-bundle-2';
/**
 * A bundle not used for this long is deleted: a run loads command chunks lazily, so a bundle
 * must outlive every run that started on it (by a wide margin: commands take seconds).
 */
const PRUNE_AFTER_MS = 60 * 60 * 1000;
/** Bundle directories, and leftovers of runs that died while writing one. */
const CACHE_ENTRY = /^[0-9a-f]{20}(\.\d+\.tmp)?$|^manifest\.json\.\d+\.tmp$/;
/** Identifiers standing in for `import.meta.*`, declared per module by the bundler plugin. */
const META = { url: '__eventformMetaUrl', filename: '__eventformMetaFilename', dirname: '__eventformMetaDirname' };

/** The CLI module: the cached bundle when possible, else main.ts through tsx. */
async function loadCli() {
  if (process.env.EVENTFORM_LAUNCHER !== 'tsx') {
    const dir = process.env.EVENTFORM_CACHE_DIR || path.join(ROOT, 'node_modules', '.cache', 'eventform');
    const bundle = cachedBundle(dir) ?? (await buildBundle(dir));
    if (bundle) {
      if (process.argv.includes('--debug')) process.setSourceMapsEnabled(true);
      try {
        return await import(pathToFileURL(bundle).href);
      } catch (err) {
        // Dependencies resolve from where the bundle is: a cache outside the package cannot
        // see them (nothing ran yet; tsx reports a dependency that is really missing).
        if (err?.code !== 'ERR_MODULE_NOT_FOUND') throw err;
      }
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  return import('../generator/cli/main.ts');
}

/** The bundle built from the sources as they are now, if it exists. */
function cachedBundle(dir) {
  let manifest;
  try {
    manifest = JSON.parse(fs.readFileSync(path.join(dir, 'manifest.json'), 'utf8'));
  } catch {
    return undefined;
  }
  if (manifest?.format !== BUILD_FORMAT || !Array.isArray(manifest.inputs)) return undefined;
  const hash = fingerprint(manifest.inputs, (rel) => fs.readFileSync(path.join(ROOT, rel)));
  if (!hash || !fs.existsSync(path.join(dir, hash, 'main.mjs'))) return undefined;
  try {
    const now = new Date();
    fs.utimesSync(path.join(dir, hash), now, now); // in use: not to be pruned
  } catch {
    // A read-only cache still serves.
  }
  return path.join(dir, hash, 'main.mjs');
}

/**
 * Hash of the named files' contents (paths relative to the package root); undefined when one
 * of them (other than an always-hashed one) cannot be read.
 */
function fingerprint(inputs, read) {
  const h = createHash('sha256').update(BUILD_FORMAT);
  for (const rel of inputs) {
    let data;
    try {
      data = read(rel);
    } catch {
      if (!ALWAYS_HASHED.includes(rel)) return undefined;
      data = Buffer.alloc(0);
    }
    h.update(`\0${rel}\0${data.length}\0`).update(data);
  }
  return h.digest('hex').slice(0, 20);
}

/** Bundles the CLI into `dir`; returns the bundle's path, or undefined when it cannot. */
async function buildBundle(dir) {
  let esbuild;
  try {
    // esbuild is tsx's dependency: resolve it from there.
    const require = createRequire(import.meta.url);
    esbuild = createRequire(require.resolve('tsx/package.json'))('esbuild');
  } catch {
    return undefined;
  }
  const sources = new Map(); // relative path → exactly the bytes compiled
  const loaders = { '.ts': 'ts', '.mts': 'ts', '.cts': 'ts', '.js': 'js', '.mjs': 'js', '.cjs': 'js', '.json': 'json' };
  const plugin = {
    name: 'eventform-sources',
    setup(build) {
      build.onLoad({ filter: /\.([cm]?[jt]s|json)$/ }, (args) => {
        const data = fs.readFileSync(args.path);
        sources.set(relative(args.path), data);
        const loader = loaders[path.extname(args.path)];
        if (loader === 'json') return { contents: data, loader };
        // `import.meta.*` names this module's own file, not the bundle's: the defines below
        // turn it into identifiers declared here, on line 1 so source-map lines stay put.
        const url = pathToFileURL(args.path).href;
        const decl =
          `var ${META.url} = ${JSON.stringify(url)}, ${META.filename} = ${JSON.stringify(args.path)}, ` +
          `${META.dirname} = ${JSON.stringify(path.dirname(args.path))};`;
        let text = data.toString('utf8');
        const shebang = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
        text = text.slice(0, shebang) + decl + text.slice(shebang);
        return { contents: text, loader };
      });
    },
  };
  // Written under a temporary name first: the hash is known only once every input was read.
  const outdir = path.join(dir, 'build');
  let result;
  try {
    result = await esbuild.build({
      absWorkingDir: ROOT,
      entryPoints: [ENTRY],
      outdir,
      entryNames: '[name]',
      chunkNames: 'chunk-[hash]',
      outExtension: { '.js': '.mjs' },
      bundle: true,
      splitting: true,
      write: false,
      metafile: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      packages: 'external',
      keepNames: true,
      sourcemap: 'linked',
      logLevel: 'silent',
      define: {
        'import.meta.url': META.url,
        'import.meta.filename': META.filename,
        'import.meta.dirname': META.dirname,
      },
      plugins: [plugin],
    });
  } catch {
    return undefined;
  }
  const inputs = [...new Set([...Object.keys(result.metafile.inputs), ...ALWAYS_HASHED])].sort();
  const hash = fingerprint(inputs, (rel) => sources.get(rel) ?? fs.readFileSync(path.join(ROOT, rel)));
  if (!hash) return undefined;
  const final = path.join(dir, hash);
  const main = path.join(final, 'main.mjs');
  try {
    if (!fs.existsSync(main)) {
      // Chunks refer to each other relatively and maps to the sources relatively from the same
      // depth, so the directory can be renamed into place whole: readers never see half of it.
      const tmp = `${final}.${process.pid}.tmp`;
      fs.rmSync(tmp, { recursive: true, force: true });
      fs.mkdirSync(tmp, { recursive: true });
      for (const f of result.outputFiles) fs.writeFileSync(path.join(tmp, path.relative(outdir, f.path)), f.contents);
      try {
        fs.renameSync(tmp, final);
      } catch (err) {
        fs.rmSync(tmp, { recursive: true, force: true });
        if (!fs.existsSync(main)) throw err; // else a concurrent run got there first
      }
    }
    writeAtomic(path.join(dir, 'manifest.json'), JSON.stringify({ format: BUILD_FORMAT, inputs }, null, 2) + '\n');
  } catch {
    return undefined;
  }
  prune(dir, hash);
  return main;
}

function relative(file) {
  return path.relative(ROOT, file).split(path.sep).join('/');
}

/** Readers never see a half-written file: write aside, then rename over. */
function writeAtomic(file, contents) {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, contents);
  fs.renameSync(tmp, file);
}

/** Deletes bundles of older sources (best effort). */
function prune(dir, keep) {
  try {
    for (const name of fs.readdirSync(dir)) {
      if (!CACHE_ENTRY.test(name) || name === keep) continue;
      const file = path.join(dir, name);
      if (Date.now() - fs.statSync(file).mtimeMs > PRUNE_AFTER_MS) fs.rmSync(file, { recursive: true, force: true });
    }
  } catch {
    // A cache that cannot be tidied still works.
  }
}

const { run } = await loadCli();
process.exitCode = await run(process.argv);
