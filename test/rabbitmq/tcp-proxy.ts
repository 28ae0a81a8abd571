/**
 * A TCP proxy in front of the broker that a test can cut and restore, to simulate a network
 * outage for one client without touching the shared broker.
 */
import net from 'node:net';

export class TcpProxy {
  private server: net.Server | null = null;
  private readonly sockets = new Set<net.Socket>();
  /** client/upstream pairs, for {@link stall} and {@link resume}. */
  private readonly links = new Set<{ client: net.Socket; upstream: net.Socket }>();
  private stalled = false;
  port = 0;

  constructor(
    private readonly targetHost: string,
    private readonly targetPort: number,
  ) {}

  /** Listen (on the same port as before when restarting). */
  async start(): Promise<void> {
    const server = net.createServer((client) => {
      const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
      const link = { client, upstream };
      this.sockets.add(client);
      this.sockets.add(upstream);
      this.links.add(link);
      const drop = (): void => {
        client.destroy();
        upstream.destroy();
        this.sockets.delete(client);
        this.sockets.delete(upstream);
        this.links.delete(link);
      };
      client.on('error', drop).on('close', drop);
      upstream.on('error', drop).on('close', drop);
      client.pipe(upstream);
      if (this.stalled) upstream.pause();
      else upstream.pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(this.port, '127.0.0.1', () => resolve());
    });
    this.port = (server.address() as net.AddressInfo).port;
    this.server = server;
  }

  /**
   * Hold back everything the broker sends (on open connections and new ones) while the client's
   * bytes still reach it: the connection stays up, but no answer, confirm or heartbeat arrives
   * until {@link resume}, which delivers what was held back.
   */
  stall(): void {
    this.stalled = true;
    for (const { client, upstream } of this.links) {
      upstream.unpipe(client);
      upstream.pause();
    }
  }

  /** Deliver what {@link stall} held back and forward the broker's bytes again (no-op unless stalled). */
  resume(): void {
    if (!this.stalled) return;
    this.stalled = false;
    for (const { client, upstream } of this.links) upstream.pipe(client);
  }

  /** Stop listening and cut every open connection. */
  async cut(): Promise<void> {
    const server = this.server;
    this.server = null;
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  url(user = 'guest', password = 'guest'): string {
    return `amqp://${user}:${password}@127.0.0.1:${this.port}`;
  }
}
