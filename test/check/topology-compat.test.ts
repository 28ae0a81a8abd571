/** Topology-level checks: one row per change, asserting rule, severity and what it points at. */
import { describe, expect, it } from 'vitest';
import type { TopologyIR } from '../../runtime/core/src/ir.js';
import { compareTopologies, type TopologyFinding } from '../../generator/src/check/topology-compat.js';
import { irOf, shop } from './helpers.js';

type Doc = ReturnType<typeof shop>;

interface Row {
  name: string;
  change: (doc: Doc) => void;
  /** Or change the IR directly, for resource names no topology field sets. */
  changeIr?: (ir: TopologyIR) => void;
  expect: {
    rule: string;
    severity: 'error' | 'warning';
    event?: string;
    consumer?: string;
    anchor?: string;
    text: RegExp;
  }[];
}

const ROWS: Row[] = [
  {
    name: 'consumed event removed',
    change: (d) => {
      delete d.events.InventoryReserved;
      d.services['inventory-service'].produces = ['InventoryShortage'];
      delete d.services['payment-service'].consumes;
    },
    expect: [
      {
        rule: 'EFC201',
        severity: 'error',
        event: 'InventoryReserved',
        anchor: 'events',
        text: /payment-service\.chargePayment.*shop\.InventoryReserved/,
      },
      {
        rule: 'EFC207',
        severity: 'warning',
        consumer: 'payment-service.chargePayment',
        text: /shop\.payment-service\.chargePayment\.dlq/,
      },
    ],
  },
  {
    name: 'unconsumed event removed',
    change: (d) => {
      d.events.AuditLogged = {
        key: 'orderId',
        payload: { type: 'object', required: ['orderId'], properties: { orderId: { type: 'string' } } },
      };
      d.services['order-service'].produces.push('AuditLogged');
    },
    // The row's change is applied to the OLD side here (see `reverse` below).
    expect: [
      { rule: 'EFC201', severity: 'warning', event: 'AuditLogged', anchor: 'events', text: /no consumer consumed it/ },
    ],
  },
  {
    name: 'event renamed (identical payload)',
    change: (d) => {
      d.events.OrderCanceled = d.events.OrderCancelled;
      delete d.events.OrderCancelled;
      d.services['order-service'].produces = ['OrderCreated', 'OrderCanceled'];
      d.services['notification-service'].consumes.notifyCustomer.event = [
        'OrderCreated',
        'PaymentCompleted',
        'OrderCanceled',
      ];
    },
    expect: [
      { rule: 'EFC202', severity: 'error', event: 'OrderCanceled', text: /looks renamed from 'OrderCancelled'/ },
    ],
  },
  {
    name: 'ordering key changed',
    change: (d) => {
      d.events.OrderCreated.key = 'userId';
    },
    expect: [
      {
        rule: 'EFC203',
        severity: 'error',
        event: 'OrderCreated',
        text: /from 'orderId' to 'userId'.*per-key ordering/,
      },
    ],
  },
  {
    name: 'ordering key removed',
    change: (d) => {
      delete d.events.OrderCreated.key;
    },
    expect: [{ rule: 'EFC203', severity: 'error', event: 'OrderCreated', text: /lost its ordering key/ }],
  },
  {
    name: 'ordering key added',
    change: (d) => {
      delete d.events.PaymentFailed.key;
    },
    // Applied to the old side: the new one gains the key.
    expect: [{ rule: 'EFC203', severity: 'warning', event: 'PaymentFailed', text: /gained ordering key 'orderId'/ }],
  },
  {
    name: 'Kafka partitions decreased',
    change: (d) => {
      d.events.OrderCreated.kafka = { partitions: 2 };
    },
    expect: [{ rule: 'EFC204', severity: 'error', event: 'OrderCreated', text: /from 3 to 2: a topic cannot shrink/ }],
  },
  {
    name: 'NATS retention shortened',
    change: (d) => {
      d.events.OrderCreated.nats = { maxAge: '1d' };
    },
    expect: [
      {
        rule: 'EFC217',
        severity: 'warning',
        event: 'OrderCreated',
        text: /keeps messages for 1d instead of 7d: .*deletes every stored message older/,
      },
    ],
  },
  {
    name: 'NATS retention lengthened, or kept for ever',
    change: (d) => {
      d.nats = { maxAge: '30d' };
      d.events.OrderCreated.nats = { maxAge: '0ms' };
    },
    expect: [],
  },
  {
    name: 'Kafka partitions increased',
    change: (d) => {
      d.kafka = { partitions: 6 };
    },
    expect: [
      'InventoryReserved',
      'InventoryShortage',
      'OrderCancelled',
      'OrderCreated',
      'PaymentCompleted',
      'PaymentFailed',
    ].map((event) => ({
      rule: 'EFC205',
      severity: 'warning' as const,
      event,
      text: /from 3 to 6: the key → partition mapping changes/,
    })),
  },
  {
    name: 'consumer removed',
    change: (d) => {
      delete d.services['inventory-service'].consumes.releaseStock;
    },
    expect: [
      {
        rule: 'EFC207',
        severity: 'warning',
        consumer: 'inventory-service.releaseStock',
        text: /shop\.inventory-service\.releaseStock\.dlq.*DLQ may still hold messages/,
      },
    ],
  },
  {
    name: 'consumer renamed',
    change: (d) => {
      const svc = d.services['inventory-service'].consumes;
      svc.freeStock = svc.releaseStock;
      delete svc.releaseStock;
    },
    expect: [
      {
        rule: 'EFC208',
        severity: 'warning',
        consumer: 'inventory-service.freeStock',
        text: /looks renamed from 'inventory-service\.releaseStock'/,
      },
    ],
  },
  {
    name: 'dead-lettering turned off',
    change: (d) => {
      d.services['inventory-service'].consumes.releaseStock.deadLetter = false;
    },
    expect: [
      {
        rule: 'EFC209',
        severity: 'warning',
        consumer: 'inventory-service.releaseStock',
        text: /turned off.*shop\.inventory-service\.releaseStock\.dlq/,
      },
    ],
  },
  {
    name: 'retry queues dropped',
    change: (d) => {
      d.services['inventory-service'].consumes.releaseStock.retry = { attempts: 1 };
    },
    expect: [
      {
        rule: 'EFC210',
        severity: 'warning',
        consumer: 'inventory-service.releaseStock',
        text: /would be dropped while messages may be waiting/,
      },
    ],
  },
  {
    name: 'queue type changed',
    change: (d) => {
      d.services['inventory-service'].consumes.releaseStock.rabbitmq = { queueType: 'classic' };
    },
    expect: [
      {
        rule: 'EFC212',
        severity: 'warning',
        consumer: 'inventory-service.releaseStock',
        text: /from quorum to classic/,
      },
    ],
  },
  {
    name: 'consumer queue and group renamed',
    change: () => {},
    changeIr: (ir) => {
      const c = ir.consumers.find((x) => x.id === 'inventory-service.releaseStock')!;
      c.rabbitmq.queue = 'shop.stock.release';
      c.kafka.groupId = 'shop.stock.release';
    },
    expect: [
      {
        rule: 'EFC211',
        severity: 'warning',
        consumer: 'inventory-service.releaseStock',
        text: /queue of .* changes from shop\.inventory-service\.releaseStock to shop\.stock\.release/,
      },
      { rule: 'EFC211', severity: 'warning', consumer: 'inventory-service.releaseStock', text: /no committed offsets/ },
    ],
  },
  {
    name: 'event topic renamed',
    change: () => {},
    changeIr: (ir) => {
      ir.events.find((e) => e.name === 'OrderCreated')!.kafka.topic = 'orders.created';
    },
    expect: [
      {
        rule: 'EFC213',
        severity: 'warning',
        event: 'OrderCreated',
        text: /from Kafka topic shop\.OrderCreated to orders\.created/,
      },
    ],
  },
  {
    name: 'topology renamed (one finding, not one per resource)',
    change: (d) => {
      d.topology = 'store';
    },
    expect: [{ rule: 'EFC214', severity: 'warning', anchor: 'topology', text: /from 'shop' to 'store'/ }],
  },
  {
    name: 'subscription removed',
    change: (d) => {
      d.services['notification-service'].consumes.notifyCustomer.event = ['OrderCreated', 'OrderCancelled'];
    },
    expect: [
      {
        rule: 'EFC215',
        severity: 'warning',
        consumer: 'notification-service.notifyCustomer',
        text: /no longer consumes PaymentCompleted/,
      },
    ],
  },
  {
    name: 'compatibility relaxed',
    change: (d) => {
      d.events.OrderCreated.compatibility = 'none';
    },
    expect: [{ rule: 'EFC216', severity: 'warning', event: 'OrderCreated', text: /relaxed from backward to none/ }],
  },
  {
    name: 'compatibility tightened is fine',
    change: (d) => void (d.events.OrderCreated.compatibility = 'full'),
    expect: [],
  },
  { name: 'no change', change: () => {}, expect: [] },
];

/** Rows whose change describes the OLD topology (the new one is the plain shop). */
const REVERSED = new Set(['unconsumed event removed', 'ordering key added']);

function pair(row: Row): { oldIr: TopologyIR; newIr: TopologyIR } {
  const changed = shop();
  row.change(changed);
  const plain = irOf(shop());
  const other = irOf(changed);
  row.changeIr?.(other);
  return REVERSED.has(row.name) ? { oldIr: other, newIr: plain } : { oldIr: plain, newIr: other };
}

function summarize(f: TopologyFinding) {
  return { rule: f.rule, severity: f.severity, event: f.event, consumer: f.consumer, anchor: f.anchor };
}

describe('topology-level changes', () => {
  it.each(ROWS)('$name', (row) => {
    const { oldIr, newIr } = pair(row);
    const findings = compareTopologies(oldIr, newIr);
    expect(findings.map(summarize)).toEqual(
      row.expect.map((e) => ({
        rule: e.rule,
        severity: e.severity,
        event: e.event,
        consumer: e.consumer,
        anchor: e.anchor,
      })),
    );
    row.expect.forEach((e, i) => expect(findings[i]!.message).toMatch(e.text));
    for (const f of findings) {
      // Things that still exist point at their node in the new file; removed ones at a section.
      expect(f.loc !== undefined || f.anchor !== undefined).toBe(true);
      if (f.loc) expect(f.loc.file).toBe('topology.yaml');
    }
  });

  it('reports a decreased event version', () => {
    const old = shop();
    old.events.OrderCreated.version = 3;
    const findings = compareTopologies(irOf(old), irOf(shop()));
    expect(findings.map(summarize)).toEqual([
      { rule: 'EFC206', severity: 'error', event: 'OrderCreated', consumer: undefined, anchor: undefined },
    ]);
    expect(findings[0]!.message).toMatch(/from 3 to 1/);
  });

  it('reports a decreased topology version at the topology key', () => {
    const old = shop();
    old.version = 2;
    const findings = compareTopologies(irOf(old), irOf(shop()));
    expect(findings.map(summarize)).toEqual([
      { rule: 'EFC206', severity: 'error', event: undefined, consumer: undefined, anchor: 'topology' },
    ]);
  });

  it('does not call an event renamed when the payload differs', () => {
    const changed = shop();
    changed.events.OrderCanceled = structuredClone(changed.events.OrderCancelled);
    changed.events.OrderCanceled.payload.properties.note = { type: 'string' };
    delete changed.events.OrderCancelled;
    changed.services['order-service'].produces = ['OrderCreated', 'OrderCanceled'];
    changed.services['notification-service'].consumes.notifyCustomer.event = [
      'OrderCreated',
      'PaymentCompleted',
      'OrderCanceled',
    ];
    const findings = compareTopologies(irOf(shop()), irOf(changed));
    expect(findings.map((f) => f.rule)).toEqual(['EFC201']);
    expect(findings[0]).toMatchObject({ event: 'OrderCancelled', severity: 'error', anchor: 'events' });
  });
});
