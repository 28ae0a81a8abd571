// Handlers of notification-service: yours to edit; eventform only appends new handlers.
// Created by `eventform generate --stubs` from topology.yaml. When the topology gains a
// handler it is appended to `handlers`; when it loses one, eventform reports it and the compiler flags it.
import type { NotificationServiceHandlers } from '../../../../generated/index.js';
import { send } from './mailer.js';

export const handlers: NotificationServiceHandlers = {
  /** `notification-service.notifyCustomer`: OrderCancelled, OrderCreated, PaymentCompleted. */
  async notifyCustomer(event, ctx) {
    let subject: string;
    switch (event.type) {
      case 'OrderCreated':
        subject = 'We received your order';
        break;
      case 'PaymentCompleted':
        subject = `Payment ${event.data.paymentId} received; your order is on its way`;
        break;
      case 'OrderCancelled':
        subject = `Your order was cancelled (${event.data.reason})`;
        break;
    }
    send({ orderId: event.data.orderId, subject, correlationId: event.correlationId });
    ctx.logger.info(`mailed "${subject}"`, { orderId: event.data.orderId });
  },
};
