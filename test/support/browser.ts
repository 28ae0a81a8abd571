/**
 * Headless Chromium for tests that look at a page as a person would: a screenshot (decoded here,
 * so a test can count what is drawn) and the DOM after the page's scripts ran. Chromium is the
 * Debian package (`.ci/run` installs it when missing); under CI=true a missing browser fails the
 * run, locally the test skips and says so. Each run gets a fresh profile folder.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import zlib from 'node:zlib';
import { isCi } from './brokers.js';

const exec = promisify(execFile);
const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'];
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--hide-scrollbars',
];

/** The browser binary, or undefined (locally) after saying why; throws under CI. */
export function findChromium(): string | undefined {
  const found = [process.env['CHROMIUM'], ...CANDIDATES].find((p): p is string => !!p && fs.existsSync(p));
  if (found) return found;
  const message = `Chromium is not installed (looked for ${CANDIDATES.join(', ')}; apt-get install -y chromium)`;
  if (isCi()) throw new Error(`${message}; CI=true, so browser tests must not be skipped`);
  process.stderr.write(`\n[eventform tests] SKIPPING browser tests: ${message}\n\n`);
  return undefined;
}

async function withProfile<T>(body: (args: string[]) => Promise<T>): Promise<T> {
  const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-chromium-'));
  try {
    return await body([...FLAGS, `--user-data-dir=${profile}`]);
  } finally {
    fs.rmSync(profile, { recursive: true, force: true });
  }
}

/** A PNG screenshot of `url` at `width`×`height`. */
export async function screenshot(
  browser: string,
  url: string,
  file: string,
  width = 1400,
  height = 900,
): Promise<void> {
  await withProfile((flags) =>
    exec(browser, [...flags, `--window-size=${width},${height}`, `--screenshot=${file}`, url], { timeout: 90_000 }),
  );
}

/** The serialized DOM of `url` once its scripts ran. */
export async function dumpDom(browser: string, url: string): Promise<string> {
  return withProfile(async (flags) => {
    const { stdout } = await exec(browser, [...flags, '--dump-dom', url], { timeout: 90_000, maxBuffer: 64 << 20 });
    return stdout;
  });
}

export interface Image {
  width: number;
  height: number;
  /** RGBA, 4 bytes a pixel. */
  pixels: Buffer;
}

/** Decodes an 8-bit RGB or RGBA, non-interlaced PNG (what Chromium writes). */
export function decodePng(png: Buffer): Image {
  if (png.readUInt32BE(0) !== 0x89504e47) throw new Error('not a PNG');
  let offset = 8;
  let width = 0;
  let height = 0;
  let channels = 0;
  const data: Buffer[] = [];
  while (offset < png.length) {
    const length = png.readUInt32BE(offset);
    const type = png.toString('latin1', offset + 4, offset + 8);
    const chunk = png.subarray(offset + 8, offset + 8 + length);
    if (type === 'IHDR') {
      width = chunk.readUInt32BE(0);
      height = chunk.readUInt32BE(4);
      const [depth, color, , , interlace] = [chunk[8], chunk[9], chunk[10], chunk[11], chunk[12]];
      if (depth !== 8 || interlace !== 0 || (color !== 2 && color !== 6)) throw new Error('unsupported PNG layout');
      channels = color === 6 ? 4 : 3;
    } else if (type === 'IDAT') data.push(chunk);
    else if (type === 'IEND') break;
    offset += 12 + length;
  }
  const raw = zlib.inflateSync(Buffer.concat(data));
  const stride = width * channels;
  const out = Buffer.alloc(width * height * 4);
  let prev = Buffer.alloc(stride);
  for (let y = 0; y < height; y++) {
    const filter = raw[y * (stride + 1)]!;
    const line = Buffer.from(raw.subarray(y * (stride + 1) + 1, (y + 1) * (stride + 1)));
    for (let i = 0; i < stride; i++) {
      const a = i >= channels ? line[i - channels]! : 0;
      const b = prev[i]!;
      const c = i >= channels ? prev[i - channels]! : 0;
      const add = filter === 1 ? a : filter === 2 ? b : filter === 3 ? (a + b) >> 1 : filter === 4 ? paeth(a, b, c) : 0;
      line[i] = (line[i]! + add) & 0xff;
    }
    for (let x = 0; x < width; x++) {
      line.copy(out, (y * width + x) * 4, x * channels, x * channels + 3);
      out[(y * width + x) * 4 + 3] = channels === 4 ? line[x * channels + 3]! : 255;
    }
    prev = line;
  }
  return { width, height, pixels: out };
}

function paeth(a: number, b: number, c: number): number {
  const p = a + b - c;
  const pa = Math.abs(p - a);
  const pb = Math.abs(p - b);
  const pc = Math.abs(p - c);
  return pa <= pb && pa <= pc ? a : pb <= pc ? b : c;
}

/** How many pixels are within `tolerance` of the colour `#rrggbb`. */
export function countColor(image: Image, hex: string, tolerance = 24): number {
  const [r, g, b] = [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16));
  let n = 0;
  for (let i = 0; i < image.pixels.length; i += 4) {
    if (
      Math.abs(image.pixels[i]! - r!) <= tolerance &&
      Math.abs(image.pixels[i + 1]! - g!) <= tolerance &&
      Math.abs(image.pixels[i + 2]! - b!) <= tolerance
    )
      n++;
  }
  return n;
}
