/**
 * `eventform graph --format html`: one self-contained page (no network, no external file) showing
 * the topology, laid out by dagre (a layered graph-layout library):
 *
 * - the overview, laid out when the page is generated: every service and event; drag to pan,
 *   wheel to zoom, "fit" to see everything; a search box marks matching services and events;
 * - clicking a service (or `#service=<name>` in the URL) opens its flows: the events it produces
 *   and the handlers that consume them, the events it consumes and who produces them, laid out on
 *   their own in the page (dagre is embedded, about 50 KB) with each handler's retries and
 *   dead-letter queue on its edge, so one service stays readable however large the topology; a side
 *   panel lists its handlers with retries, dead-letter destinations, idempotency and concurrency.
 *
 * Text from the topology enters the page only escaped for XML in the SVG, and as JSON inside a
 * script element with `<` escaped, never as markup.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import dagre from '@dagrejs/dagre';
import { edgeLabel, type GraphEdge, type GraphNode, type TopologyGraph } from './model.js';

/** Approximate width of a 12px sans-serif character, for node boxes (the page's script uses the same). */
const CHAR_WIDTH = 7.2;
const NODE_HEIGHT = 34;

/** dagre's browser build (a global `dagre`), embedded in the page for the focus view. */
function dagreBrowserBuild(): string {
  const main = createRequire(import.meta.url).resolve('@dagrejs/dagre');
  const code = readFileSync(path.join(path.dirname(main), 'dagre.min.js'), 'utf8');
  // No source map fetch, and nothing that could close the script element early.
  return code.replace(/\/\/# sourceMappingURL=\S+\s*$/, '').replace(/<\//g, '<\\/');
}

interface Placed {
  node: GraphNode;
  x: number;
  y: number;
  width: number;
  height: number;
}

export function renderHtml(graph: TopologyGraph): string {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({ rankdir: 'LR', nodesep: 14, ranksep: 90, edgesep: 8, marginx: 24, marginy: 24 });
  g.setDefaultEdgeLabel(() => ({}));
  for (const node of graph.nodes) {
    g.setNode(node.id, { width: Math.max(90, Math.round(node.name.length * CHAR_WIDTH) + 28), height: NODE_HEIGHT });
  }
  graph.edges.forEach((e, i) => g.setEdge(e.from, e.to, {}, `x${i}`));
  dagre.layout(g);

  const placed: Placed[] = graph.nodes.map((node) => {
    const p = g.node(node.id) as { x: number; y: number; width: number; height: number };
    return { node, x: p.x, y: p.y, width: p.width, height: p.height };
  });
  const { width = 400, height = 300 } = g.graph() as { width?: number; height?: number };

  const svg: string[] = [];
  graph.edges.forEach((e, i) => {
    const points = (g.edge({ v: e.from, w: e.to, name: `x${i}` }) as { points: { x: number; y: number }[] }).points;
    const d = points.map((p, j) => `${j === 0 ? 'M' : 'L'}${round(p.x)},${round(p.y)}`).join(' ');
    const dashed = e.kind === 'consumes' && !e.consumer?.deadLetter ? ' nodlq' : '';
    svg.push(
      `<path class="edge ${e.kind}${dashed}" data-from="${e.from}" data-to="${e.to}" d="${d}" marker-end="url(#arrow)">` +
        `<title>${xml(edgeTitle(e, graph))}</title></path>`,
    );
  });
  for (const p of placed) {
    const x = round(p.x - p.width / 2);
    const y = round(p.y - p.height / 2);
    svg.push(
      `<g class="node ${p.node.kind}" data-id="${p.node.id}" tabindex="0">` +
        `<title>${xml(p.node.description ? `${p.node.name}: ${p.node.description}` : p.node.name)}</title>` +
        `<rect x="${x}" y="${y}" width="${round(p.width)}" height="${round(p.height)}" rx="${p.node.kind === 'event' ? 17 : 4}"/>` +
        `<text x="${round(p.x)}" y="${round(p.y + 4)}">${xml(p.node.name)}</text></g>`,
    );
  }

  const data = JSON.stringify({
    topology: graph.topology,
    nodes: graph.nodes,
    edges: graph.edges.map((e) => ({ from: e.from, to: e.to, kind: e.kind, consumer: e.consumer ?? null })),
  }).replace(/</g, '\\u003c');
  const services = graph.nodes.filter((n) => n.kind === 'service').length;
  const events = graph.nodes.length - services;

  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; script-src 'unsafe-inline'">
<title>${xml(graph.topology)} · eventform topology</title>
<style>${STYLE}</style>
</head>
<body>
<header>
  <h1>${xml(graph.topology)}</h1>
  <span class="counts">${services} services · ${events} events · ${graph.edges.length} flows</span>
  <input id="search" type="search" placeholder="Find a service or event" autocomplete="off" list="names">
  <datalist id="names"></datalist>
  <button id="fit" type="button">fit</button>
  <button id="clear" type="button">show all</button>
  <span class="legend"><i class="k service"></i>service <i class="k event"></i>event <i class="k nodlq"></i>handler without dead-letter queue</span>
</header>
<main>
  <svg id="graph" viewBox="0 0 ${round(width)} ${round(height)}" data-width="${round(width)}" data-height="${round(height)}" role="img" aria-label="${xml(graph.topology)} topology">
    <defs><marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse"><path d="M0,0 L10,5 L0,10 z"/></marker></defs>
    <g id="viewport">
${svg.map((s) => `      ${s}`).join('\n')}
    </g>
    <g id="focus"></g>
  </svg>
  <aside id="panel" hidden></aside>
</main>
<script type="application/json" id="topology-data">${data}</script>
<script>${dagreBrowserBuild()}</script>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

function edgeTitle(e: GraphEdge, graph: TopologyGraph): string {
  const name = (id: string) => graph.nodes.find((n) => n.id === id)?.name ?? id;
  if (e.kind === 'produces') return `${name(e.from)} produces ${name(e.to)}`;
  return `${name(e.to)}.${edgeLabel(e)} ← ${name(e.from)}`;
}

function round(n: number): number {
  return Math.round(n * 10) / 10;
}

function xml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const STYLE = `
*{box-sizing:border-box}body{margin:0;font:13px/1.4 system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;color:#202124;display:flex;flex-direction:column;height:100vh}
header{display:flex;align-items:center;gap:12px;padding:8px 14px;border-bottom:1px solid #dadce0;background:#f8f9fa;flex-wrap:wrap}
h1{font-size:16px;margin:0}.counts{color:#5f6368}#search{width:260px;padding:4px 8px;border:1px solid #bdc1c6;border-radius:4px}
button{padding:3px 10px;border:1px solid #bdc1c6;border-radius:4px;background:#fff;cursor:pointer}
.legend{margin-left:auto;color:#5f6368}.k{display:inline-block;width:14px;height:10px;margin:0 4px 0 10px;border:1px solid}
.k.service{background:#e8f0fe;border-color:#3367d6}.k.event{background:#fef7e0;border-color:#b06000;border-radius:5px}.k.nodlq{border:none;border-top:2px dashed #80868b;height:0}
main{flex:1;display:flex;min-height:0}svg{flex:1;height:100%;cursor:grab;background:#fff}svg.dragging{cursor:grabbing}
.node rect{stroke-width:1.2}.node.service rect{fill:#e8f0fe;stroke:#3367d6}.node.event rect{fill:#fef7e0;stroke:#b06000}
.node text{text-anchor:middle;font-size:12px;pointer-events:none}.node{cursor:pointer}
.edge{fill:none;stroke:#9aa0a6;stroke-width:1.1}.edge.nodlq{stroke-dasharray:5 4}marker path{fill:#9aa0a6}
.edge.hit{stroke:#1a73e8;stroke-width:1.8}.selected rect{stroke-width:3}.match rect{stroke:#d93025;stroke-width:3}.edge-label{font-size:10px;fill:#3c4043;text-anchor:middle;paint-order:stroke;stroke:#fff;stroke-width:3px}
aside{width:340px;overflow:auto;border-left:1px solid #dadce0;padding:10px 14px;background:#fafafa}
aside h2{font-size:15px;margin:4px 0 8px}aside h3{font-size:13px;margin:12px 0 4px}aside ul{margin:0;padding-left:18px}aside li{margin:3px 0}
aside .muted{color:#5f6368}`;

/** The page's behaviour; plain ES2017 so any current browser runs it. */
const SCRIPT = `
(function () {
  var NS = 'http://www.w3.org/2000/svg', CHAR = ${CHAR_WIDTH}, H = ${NODE_HEIGHT};
  var data = JSON.parse(document.getElementById('topology-data').textContent);
  var svg = document.getElementById('graph'), overview = document.getElementById('viewport');
  var focus = document.getElementById('focus'), panel = document.getElementById('panel');
  var search = document.getElementById('search');
  var byId = {}, byName = {};
  data.nodes.forEach(function (n) { byId[n.id] = n; byName[n.name] = n; });
  var list = document.getElementById('names');
  data.nodes.forEach(function (n) { var o = document.createElement('option'); o.value = n.name; list.appendChild(o); });

  // Pan and zoom: the SVG's viewBox.
  var full = { x: 0, y: 0, w: +svg.dataset.width, h: +svg.dataset.height }, shown = full, box = full;
  function apply() { svg.setAttribute('viewBox', box.x + ' ' + box.y + ' ' + box.w + ' ' + box.h); }
  function fit() { box = shown; apply(); }
  svg.addEventListener('wheel', function (ev) {
    ev.preventDefault();
    var r = svg.getBoundingClientRect(), f = ev.deltaY < 0 ? 0.85 : 1 / 0.85;
    var px = box.x + (ev.clientX - r.left) / r.width * box.w, py = box.y + (ev.clientY - r.top) / r.height * box.h;
    box = { x: px - (px - box.x) * f, y: py - (py - box.y) * f, w: box.w * f, h: box.h * f }; apply();
  }, { passive: false });
  var drag = null;
  svg.addEventListener('mousedown', function (ev) { drag = { x: ev.clientX, y: ev.clientY, box: box }; svg.classList.add('dragging'); });
  window.addEventListener('mouseup', function () { drag = null; svg.classList.remove('dragging'); });
  window.addEventListener('mousemove', function (ev) {
    if (!drag) return;
    var r = svg.getBoundingClientRect();
    box = { x: drag.box.x - (ev.clientX - drag.x) / r.width * box.w, y: drag.box.y - (ev.clientY - drag.y) / r.height * box.h, w: box.w, h: box.h };
    apply();
  });

  function el(tag, attrs, textContent) {
    var e = document.createElementNS(NS, tag);
    Object.keys(attrs || {}).forEach(function (k) { e.setAttribute(k, attrs[k]); });
    if (textContent !== undefined) e.textContent = textContent;
    return e;
  }
  function text(tag, content, cls) { var e = document.createElement(tag); e.textContent = content; if (cls) e.className = cls; return e; }
  function all(sel) { return Array.prototype.slice.call(document.querySelectorAll(sel)); }

  /**
   * The service's flows as a left-to-right chain: who produces what it consumes → those events →
   * the service → the events it produces → who consumes them. A node on both sides (a service
   * upstream and downstream, an event it consumes and produces) is drawn once per side, so the
   * picture has no cycles however the topology loops. Keys are role + id.
   */
  function flowsOf(id) {
    var flows = [];
    data.edges.forEach(function (e) {
      if (e.to === id) {
        flows.push({ e: e, from: 'in:' + e.from, to: 'self' });
        data.edges.forEach(function (p) { if (p.kind === 'produces' && p.to === e.from) flows.push({ e: p, from: 'up:' + p.from, to: 'in:' + e.from }); });
      }
      if (e.from === id) {
        flows.push({ e: e, from: 'self', to: 'out:' + e.to });
        data.edges.forEach(function (c) { if (c.kind === 'consumes' && c.from === e.to) flows.push({ e: c, from: 'out:' + e.to, to: 'down:' + c.to }); });
      }
    });
    return flows;
  }
  function nodeOf(key, self) { return key === 'self' ? self : byId[key.slice(key.indexOf(':') + 1)]; }
  function label(e) {
    if (e.kind === 'produces') return '';
    var c = e.consumer;
    return c.handler + ' · ' + c.retryShort + ' · ' + (c.deadLetter ? 'DLQ' : 'no DLQ');
  }

  /** Lays the flows out on their own with dagre and draws them in place of the overview. */
  function drawFocus(node, flows) {
    var g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: 'LR', nodesep: 16, ranksep: 40, edgesep: 12, marginx: 24, marginy: 24 });
    g.setDefaultEdgeLabel(function () { return {}; });
    var keys = { self: true };
    flows.forEach(function (f) { keys[f.from] = keys[f.to] = true; });
    Object.keys(keys).forEach(function (k) { g.setNode(k, { width: Math.max(90, Math.round(nodeOf(k, node).name.length * CHAR) + 28), height: H }); });
    flows.forEach(function (f, i) {
      var l = label(f.e);
      g.setEdge(f.from, f.to, { width: Math.round(l.length * 5.6), height: l ? 14 : 0, labelpos: 'c' }, 'f' + i);
    });
    dagre.layout(g);
    focus.textContent = '';
    flows.forEach(function (f, i) {
      var info = g.edge({ v: f.from, w: f.to, name: 'f' + i });
      var d = info.points.map(function (p, j) { return (j ? 'L' : 'M') + p.x + ',' + p.y; }).join(' ');
      var cls = 'edge hit ' + f.e.kind + (f.e.kind === 'consumes' && !f.e.consumer.deadLetter ? ' nodlq' : '');
      focus.appendChild(el('path', { 'class': cls, d: d, 'marker-end': 'url(#arrow)' }));
      var l = label(f.e);
      if (l) focus.appendChild(el('text', { 'class': 'edge-label', x: info.x, y: info.y + 4 }, l));
    });
    Object.keys(keys).forEach(function (k) {
      var p = g.node(k), n = nodeOf(k, node);
      var group = el('g', { 'class': 'node hit ' + n.kind + (k === 'self' ? ' selected' : ''), 'data-id': n.id });
      group.appendChild(el('rect', { x: p.x - p.width / 2, y: p.y - p.height / 2, width: p.width, height: p.height, rx: n.kind === 'event' ? 17 : 4 }));
      group.appendChild(el('text', { x: p.x, y: p.y + 4 }, n.name));
      focus.appendChild(group);
    });
    var size = g.graph();
    shown = { x: 0, y: 0, w: Math.max(size.width, 300), h: Math.max(size.height, 200) };
    overview.setAttribute('visibility', 'hidden');
    fit();
  }

  function showAll() {
    focus.textContent = ''; overview.removeAttribute('visibility');
    panel.hidden = true; document.body.removeAttribute('data-selected');
    shown = full; fit();
  }
  function select(name) {
    var node = byName[name];
    if (!node || node.kind !== 'service') { showAll(); return; }
    drawFocus(node, flowsOf(node.id));
    document.body.setAttribute('data-selected', name);
    showPanel(node);
  }
  function showPanel(node) {
    panel.textContent = ''; panel.hidden = false;
    panel.appendChild(text('h2', node.name));
    if (node.description) panel.appendChild(text('p', node.description, 'muted'));
    var produces = data.edges.filter(function (e) { return e.kind === 'produces' && e.from === node.id; });
    panel.appendChild(text('h3', 'Produces'));
    var ul = document.createElement('ul');
    produces.forEach(function (e) {
      var consumers = data.edges.filter(function (c) { return c.kind === 'consumes' && c.from === e.to; })
        .map(function (c) { return byId[c.to].name + '.' + c.consumer.handler; });
      ul.appendChild(text('li', byId[e.to].name + (consumers.length ? ' → ' + consumers.join(', ') : ' (no consumer)')));
    });
    if (!produces.length) ul.appendChild(text('li', 'nothing', 'muted'));
    panel.appendChild(ul);
    panel.appendChild(text('h3', 'Handlers'));
    var handlers = {};
    data.edges.forEach(function (e) {
      if (e.kind !== 'consumes' || e.to !== node.id) return;
      (handlers[e.consumer.id] = handlers[e.consumer.id] || { c: e.consumer, events: [] }).events.push(byId[e.from].name);
    });
    var hl = document.createElement('ul');
    Object.keys(handlers).sort().forEach(function (id) {
      var h = handlers[id], li = text('li', h.c.handler + ' ← ' + h.events.join(', '));
      var dl = h.c.deadLetter
        ? 'dead letters: ' + [h.c.deadLetter.rabbitmq, h.c.deadLetter.kafka].filter(function (d, i, a) { return d && a.indexOf(d) === i; }).join(' / ')
        : 'no dead-letter queue: spent messages are logged and dropped';
      [h.c.retry, dl, 'idempotency ' + h.c.idempotency, 'concurrency ' + h.c.concurrency].forEach(function (line) {
        li.appendChild(document.createElement('br')); li.appendChild(text('span', line, 'muted'));
      });
      hl.appendChild(li);
    });
    if (!Object.keys(handlers).length) hl.appendChild(text('li', 'none', 'muted'));
    panel.appendChild(hl);
  }
  function find(q) {
    all('.match').forEach(function (e) { e.classList.remove('match'); });
    q = q.trim().toLowerCase();
    if (!q) return;
    all('.node').forEach(function (g) { if (byId[g.dataset.id].name.toLowerCase().indexOf(q) >= 0) g.classList.add('match'); });
  }
  function open(name) { location.hash = 'service=' + encodeURIComponent(name); }
  svg.addEventListener('click', function (ev) {
    var g = ev.target.closest && ev.target.closest('.node');
    if (g && byId[g.dataset.id].kind === 'service') open(byId[g.dataset.id].name);
  });
  search.addEventListener('input', function () { find(search.value); });
  search.addEventListener('change', function () { var n = byName[search.value]; if (n && n.kind === 'service') open(n.name); });
  document.getElementById('fit').addEventListener('click', fit);
  document.getElementById('clear').addEventListener('click', function () {
    history.replaceState(null, '', location.pathname); search.value = ''; find(''); showAll();
  });
  function fromHash() { var m = /service=([^&]*)/.exec(location.hash); if (m) select(decodeURIComponent(m[1])); else showAll(); }
  window.addEventListener('hashchange', fromHash);
  fromHash();
})();`;
