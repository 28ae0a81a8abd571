/**
 * `eventform graph`: the model (every service, event and flow, per-handler retries and dead
 * letters), Mermaid and DOT that survive hostile names, and the HTML page rendered in a real
 * headless Chromium: self-contained, no two boxes overlapping at 60 services, and a selected
 * service's flows laid out on their own, checked both in the DOM and on the screenshot.
 */
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TopologyIR } from '@eventform/runtime';
import { synthesizeTopology } from '../../bench/generate.js';
import { renderGraph } from '../../generator/src/graph/index.js';
import { topologyGraph } from '../../generator/src/graph/model.js';
import { loadTopology } from '../../generator/src/spec/index.js';
import { countColor, decodePng, dumpDom, findChromium, screenshot } from '../support/browser.js';

const exec = promisify(execFile);
const REPO = path.resolve(import.meta.dirname, '../..');
const browser = findChromium();

function load(file: string): TopologyIR {
  const { ir, diagnostics } = loadTopology(file);
  if (!ir) throw new Error(diagnostics.map((d) => d.message).join('\n'));
  return ir;
}

let tmp: string;
let shop: TopologyIR;
let big: TopologyIR;
beforeAll(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'eventform-graph-'));
  shop = load(path.join(REPO, 'topology.yaml'));
  const bigFile = path.join(tmp, 'big.yaml');
  fs.writeFileSync(bigFile, synthesizeTopology(200, 60));
  big = load(bigFile);
});
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

describe('graph model', () => {
  it('has every service and event, one produces edge per produced event and one consumes edge per consumed event', () => {
    const g = topologyGraph(shop);
    expect(g.nodes.filter((n) => n.kind === 'service').map((n) => n.name)).toEqual(shop.services.map((s) => s.name));
    expect(g.nodes.filter((n) => n.kind === 'event').map((n) => n.name)).toEqual(shop.events.map((e) => e.name));
    const produces = shop.services.reduce((n, s) => n + s.produces.length, 0);
    const consumes = shop.consumers.reduce((n, c) => n + c.events.length, 0);
    expect(g.edges.filter((e) => e.kind === 'produces')).toHaveLength(produces);
    expect(g.edges.filter((e) => e.kind === 'consumes')).toHaveLength(consumes);
    const reserve = g.edges.find((e) => e.consumer?.id === 'inventory-service.reserveStock')!.consumer!;
    expect(reserve).toMatchObject({
      retry: '5 attempts, exponential from 100ms (max 2s)',
      deadLetter: { rabbitmq: 'shop.inventory-service.reserveStock.dlq' },
    });
    const notify = g.edges.find((e) => e.consumer?.id === 'notification-service.notifyCustomer')!.consumer!;
    expect(notify.deadLetter).toBeNull();
  });
});

describe('mermaid and dot', () => {
  it('draw the shop: every node and a labelled edge per handler and event', async () => {
    const mermaid = await renderGraph(shop, 'mermaid');
    expect(mermaid.startsWith('flowchart LR\n')).toBe(true);
    expect(mermaid).toContain('["order-service"]');
    expect(mermaid).toContain('(["OrderCreated"])');
    expect(mermaid).toMatch(/e\d+ -->\|"reserveStock · 5 attempts, exponential from 100ms \(max 2s\) · DLQ"\| s\d+/);
    expect(mermaid.match(/-->/g)).toHaveLength(topologyGraph(shop).edges.length);
    const dot = await renderGraph(shop, 'dot');
    expect(dot).toMatch(/^digraph "shop" \{/);
    expect(dot).toContain(
      'label="notifyCustomer · 3 attempts, exponential from 200ms (max 5s) · no DLQ", style=dashed',
    );
  });

  it('keep hostile names inside their labels', async () => {
    const ir = structuredClone(shop);
    ir.services[0]!.name = 'evil"] --> x[<script>alert(1)</script>';
    ir.events[0]!.name = 'A"; b [label="x'; // cannot come from a valid topology, but must not break out
    const mermaid = await renderGraph(ir, 'mermaid');
    expect(mermaid).not.toContain('<script>');
    expect(mermaid).not.toMatch(/"\] -->/);
    const dot = await renderGraph(ir, 'dot');
    expect(dot).toContain('label="A\\"; b [label=\\"x"');
  });
});

describe('html', () => {
  it('is one self-contained page: no network, no external file, topology text escaped', async () => {
    const ir = structuredClone(shop);
    ir.services[0]!.description = '</script><img src=x onerror=alert(1)>';
    const html = await renderGraph(ir, 'html');
    expect(html).not.toMatch(/\b(src|href)\s*=\s*["']?(https?:|\/\/)/i);
    expect(html).not.toMatch(/<link\b|<script\b[^>]*\bsrc=/i);
    expect(html).toContain("default-src 'none'");
    expect(html).not.toContain('<img src=x');
    expect(html.match(/<\/script>/g)).toHaveLength(3); // the data block, dagre and the page script: nothing injected
  });

  it('eventform graph --format html --out writes the page', async () => {
    const out = path.join(tmp, 'shop.html');
    const cli = path.join(REPO, 'generator/bin/eventform.js');
    await exec(process.execPath, [cli, 'graph', 'topology.yaml', '--format', 'html', '--out', out], { cwd: REPO });
    expect(fs.readFileSync(out, 'utf8')).toContain('<title>shop · eventform topology</title>');
  });

  it.skipIf(!browser)(
    'renders in Chromium: 60 services without overlapping boxes; a selected service lights up its flows',
    async () => {
      const html = await renderGraph(big, 'html');
      const file = path.join(tmp, 'big.html');
      fs.writeFileSync(file, html);

      // The overview: the layout placed no two boxes on top of each other.
      const boxes = rects(html);
      expect(boxes).toHaveLength(big.services.length + big.events.length);
      expect(overlaps(boxes)).toEqual([]);

      // The page's own script opens a service from the URL: its flows, laid out on their own by the
      // embedded dagre, every box apart, each consuming edge labelled with its handler.
      const service = big.services.find((s) => s.produces.length > 0 && s.consumers.length > 0)!;
      const url = `${pathToFileURL(file).href}#service=${encodeURIComponent(service.name)}`;
      const dom = await dumpDom(browser!, url);
      expect(dom).toContain(`data-selected="${service.name}"`);
      // Expected: upstream producers → consumed events → the service → produced events → their
      // consumers, one box per node and side.
      const g = topologyGraph(big);
      const id = g.nodes.find((n) => n.name === service.name)!.id;
      const consumedEdges = g.edges.filter((e) => e.to === id);
      const producedEdges = g.edges.filter((e) => e.from === id);
      const upstream = consumedEdges.flatMap((c) => g.edges.filter((p) => p.kind === 'produces' && p.to === c.from));
      const downstream = producedEdges.flatMap((p) => g.edges.filter((c) => c.kind === 'consumes' && c.from === p.to));
      const flows = [...consumedEdges, ...producedEdges, ...upstream, ...downstream];
      const focusBoxes = new Set([
        'self',
        ...consumedEdges.map((e) => `in:${e.from}`),
        ...upstream.map((e) => `up:${e.from}`),
        ...producedEdges.map((e) => `out:${e.to}`),
        ...downstream.map((e) => `down:${e.to}`),
      ]);
      const focus = /<g id="focus">([\s\S]*)<\/g>\s*<\/svg>/.exec(dom)?.[1] ?? '';
      expect(focus.match(/class="edge hit/g) ?? []).toHaveLength(flows.length);
      expect(focus.match(/class="edge-label"/g) ?? []).toHaveLength(flows.filter((e) => e.kind === 'consumes').length);
      expect(focus.match(/class="node hit/g) ?? []).toHaveLength(focusBoxes.size);
      expect(overlaps(rects(focus))).toEqual([]);
      expect(dom).toMatch(/<aside id="panel">[\s\S]*Handlers/);

      // And on the screen: highlighted flows in blue, the rest dimmed, the side panel drawn.
      const png = path.join(tmp, 'big.png');
      await screenshot(browser!, url, png);
      const image = decodePng(fs.readFileSync(png));
      expect(image.width).toBe(1400);
      expect(countColor(image, '#1a73e8', 40)).toBeGreaterThan(500); // the flows' edges
      expect(countColor(image, '#fef7e0', 6)).toBeGreaterThan(5_000); // readable event boxes, not specks
      const selected = path.join(tmp, 'none.png');
      await screenshot(browser!, pathToFileURL(file).href, selected);
      expect(countColor(decodePng(fs.readFileSync(selected)), '#1a73e8', 40)).toBeLessThan(
        countColor(image, '#1a73e8', 40) / 4,
      );
    },
    180_000,
  );
});

interface Box {
  x: number;
  y: number;
  w: number;
  h: number;
}

/** The node boxes in SVG markup. */
function rects(markup: string): Box[] {
  return [...markup.matchAll(/<rect x="([\d.-]+)" y="([\d.-]+)" width="([\d.]+)" height="([\d.]+)"/g)].map((m) => ({
    x: +m[1]!,
    y: +m[2]!,
    w: +m[3]!,
    h: +m[4]!,
  }));
}

/** Index pairs of boxes that overlap. */
function overlaps(boxes: Box[]): [number, number][] {
  const out: [number, number][] = [];
  for (let i = 0; i < boxes.length; i++) {
    for (let j = i + 1; j < boxes.length; j++) {
      const [a, b] = [boxes[i]!, boxes[j]!];
      if (a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h) out.push([i, j]);
    }
  }
  return out;
}
