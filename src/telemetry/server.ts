import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';
import { scrubSecrets } from './redact.ts';

export interface TelemetryServer {
  port: number;
  close(): Promise<void>;
}

/** /metrics for Prometheus, /healthz (the process answers) and /readyz (consuming and writing state). */
export async function startTelemetryServer(
  registry: Registry,
  options: { host: string; port: number; ready: () => boolean },
): Promise<TelemetryServer> {
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0];
    if (path === '/metrics') {
      registry
        .metrics()
        .then((body) => {
          response.writeHead(200, { 'content-type': registry.contentType });
          // No metric should hold a secret; scrubbing makes it certain for a few substring scans per scrape.
          response.end(scrubSecrets(body));
        })
        .catch((error: unknown) => {
          response.writeHead(500).end(String(error));
        });
    } else if (path === '/healthz') {
      response.writeHead(200, { 'content-type': 'text/plain' }).end('ok\n');
    } else if (path === '/readyz') {
      const ready = options.ready();
      response.writeHead(ready ? 200 : 503, { 'content-type': 'text/plain' }).end(ready ? 'ready\n' : 'not ready\n');
    } else {
      response.writeHead(404).end();
    }
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, resolve);
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return { port, close: () => new Promise((resolve) => server.close(() => resolve())) };
}
