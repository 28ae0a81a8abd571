/** `eventform graph`: the topology as Mermaid, Graphviz DOT or a self-contained HTML page. */
import type { TopologyIR } from '@eventform/runtime';
import { topologyGraph } from './model.js';
import { renderDot, renderMermaid } from './text-formats.js';

export const GRAPH_FORMATS = ['mermaid', 'dot', 'html'] as const;
export type GraphFormat = (typeof GRAPH_FORMATS)[number];

export async function renderGraph(ir: TopologyIR, format: GraphFormat): Promise<string> {
  const graph = topologyGraph(ir);
  switch (format) {
    case 'mermaid':
      return renderMermaid(graph);
    case 'dot':
      return renderDot(graph);
    case 'html': {
      // dagre is loaded only for the page.
      const { renderHtml } = await import('./html.js');
      return renderHtml(graph);
    }
  }
}
