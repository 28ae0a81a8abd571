/** The notification service's outbound mail, kept in memory so the demo can show what was sent. */
import { EventEmitter } from 'node:events';

export interface Mail {
  orderId: string;
  subject: string;
  correlationId: string;
}

export const sent: Mail[] = [];
export const mailEvents = new EventEmitter<{ sent: [Mail] }>();

export function send(mail: Mail): void {
  sent.push(mail);
  mailEvents.emit('sent', mail);
}
