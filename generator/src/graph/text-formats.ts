/**
 * `eventform graph` as text a diagram tool draws: Mermaid (GitHub and GitLab render it in Markdown)
 * and Graphviz DOT. Services are boxes, events are rounded; an edge from an event to a service is
 * labelled with the handler, its retries and whether it dead-letters.
 *
 * Names reach these formats only inside quoted labels, escaped for each; node ids are the model's
 * own (`s0`, `e3`), so no topology name can break the syntax.
 */
import { edgeLabel, type TopologyGraph } from './model.js';

export function renderMermaid(graph: TopologyGraph): string {
  const label = (text: string) => `"${text.replace(/[#"<>&]/g, (c) => `#${c.charCodeAt(0)};`)}"`;
  const lines = ['flowchart LR'];
  for (const n of graph.nodes) {
    lines.push(n.kind === 'service' ? `  ${n.id}[${label(n.name)}]` : `  ${n.id}([${label(n.name)}])`);
  }
  for (const e of graph.edges) {
    lines.push(e.kind === 'produces' ? `  ${e.from} --> ${e.to}` : `  ${e.from} -->|${label(edgeLabel(e))}| ${e.to}`);
  }
  lines.push('  classDef service fill:#e8f0fe,stroke:#3367d6', '  classDef event fill:#fef7e0,stroke:#b06000');
  const ids = (kind: 'service' | 'event') => graph.nodes.filter((n) => n.kind === kind).map((n) => n.id);
  if (ids('service').length > 0) lines.push(`  class ${ids('service').join(',')} service`);
  if (ids('event').length > 0) lines.push(`  class ${ids('event').join(',')} event`);
  return `${lines.join('\n')}\n`;
}

export function renderDot(graph: TopologyGraph): string {
  const quote = (text: string) => `"${text.replace(/[\\"]/g, '\\$&').replace(/\r?\n/g, '\\n')}"`;
  const lines = [
    `digraph ${quote(graph.topology)} {`,
    '  rankdir=LR;',
    '  node [fontname="Helvetica", fontsize=11];',
    '  edge [fontname="Helvetica", fontsize=9];',
  ];
  for (const n of graph.nodes) {
    const shape =
      n.kind === 'service'
        ? 'shape=box, style="filled", fillcolor="#e8f0fe"'
        : 'shape=box, style="rounded,filled", fillcolor="#fef7e0"';
    lines.push(`  ${n.id} [label=${quote(n.name)}, ${shape}];`);
  }
  for (const e of graph.edges) {
    lines.push(
      e.kind === 'produces'
        ? `  ${e.from} -> ${e.to};`
        : `  ${e.from} -> ${e.to} [label=${quote(edgeLabel(e))}${e.consumer?.deadLetter ? '' : ', style=dashed'}];`,
    );
  }
  lines.push('}');
  return `${lines.join('\n')}\n`;
}
