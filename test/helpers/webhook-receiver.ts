import * as http from 'node:http';

export interface Received {
  readonly at: number;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: {
    status: string;
    groupKey: string;
    alerts: { status: string; labels: Record<string, string>; annotations: Record<string, string> }[];
    [k: string]: unknown;
  };
}

/** An HTTP receiver on 127.0.0.1 (port 0) that keeps every JSON body it is sent. */
export async function startReceiver(): Promise<{
  url: string;
  received: Received[];
  close(): Promise<void>;
}> {
  const received: Received[] = [];
  const server = http.createServer((req, res) => {
    let data = '';
    req.on('data', (c: Buffer) => (data += c.toString()));
    req.on('end', () => {
      received.push({ at: Date.now(), headers: req.headers, body: JSON.parse(data) as Received['body'] });
      res.writeHead(200).end('{}');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as { port: number }).port;
  return {
    url: `http://127.0.0.1:${port}/hook`,
    received,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
