/**
 * Graph integrity of one topology: events consumed with no producer, produced with no consumer,
 * or declared and used by nobody. Warnings (the loader reports them too, as EF9002/EF9003);
 * `eventform check --strict` fails on them. Pure.
 */
import type { SourceLocation, TopologyIR } from '@eventform/runtime';
import { RULES, type RuleId } from './rules.js';

export interface GraphFinding {
  rule: RuleId;
  name: string;
  severity: 'warning';
  message: string;
  event: string;
  loc: SourceLocation;
}

export function checkGraph(ir: TopologyIR): GraphFinding[] {
  const out: GraphFinding[] = [];
  const add = (rule: RuleId, event: string, loc: SourceLocation, message: string): void => {
    out.push({ rule, name: RULES[rule].name, severity: 'warning', message, event, loc });
  };
  for (const ev of [...ir.events].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))) {
    const produced = ev.producers.length > 0;
    const consumed = ev.consumers.length > 0;
    if (consumed && !produced) {
      add(
        'EFC301',
        ev.name,
        ev.loc,
        `event '${ev.name}' is consumed by ${ev.consumers.join(', ')} but no service produces it`,
      );
    } else if (produced && !consumed) {
      add(
        'EFC302',
        ev.name,
        ev.loc,
        `event '${ev.name}' is produced by ${ev.producers.join(', ')} but nothing consumes it`,
      );
    } else if (!produced && !consumed) {
      add('EFC303', ev.name, ev.loc, `event '${ev.name}' is neither produced nor consumed`);
    }
  }
  return out;
}
