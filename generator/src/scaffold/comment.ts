/** `//` comment blocks for scaffolded files, word-wrapped to the house print width. */
import { PRINT_WIDTH, wrap } from '../emit/code.js';

/**
 * Paragraphs (already escaped for a line comment) as `// ` lines no wider than {@link PRINT_WIDTH};
 * an empty paragraph is a bare `//` line. Ends with a newline.
 */
export function lineComment(paragraphs: readonly string[]): string {
  const lines: string[] = [];
  for (const paragraph of paragraphs) {
    if (paragraph === '') lines.push('//');
    else for (const line of wrap(paragraph, PRINT_WIDTH - 3)) lines.push(`// ${line}`);
  }
  return lines.join('\n') + '\n';
}
