// A live-feed client that survives restarts and network blips: it reconnects with jittered exponential
// backoff and resumes from the last event id it saw, so nothing is missed while the ring still holds it
// (a `resync` answer says it does not: re-read the state from the REST API, then go on).
//
//   node examples/feed-client.mjs ws://127.0.0.1:3000/api/v1/nerve/ws metrics,health,events [engine…]
import { WebSocket } from 'ws';

const [url = 'ws://127.0.0.1:3000/api/v1/nerve/ws', topicList = 'health,events', ...engines] =
  process.argv.slice(2);
const topics = topicList.split(',');
let lastId;
let attempt = 0;

function connect() {
  const ws = new WebSocket(url);
  ws.on('open', () => {
    attempt = 0;
    ws.send(
      JSON.stringify({
        op: 'subscribe',
        topics,
        ...(engines.length && { engines }),
        ...(lastId !== undefined && { since: lastId }),
      }),
    );
    console.error(`connected${lastId === undefined ? '' : `, resuming after ${lastId}`}`);
  });
  ws.on('message', (raw) => {
    const m = JSON.parse(String(raw));
    if (m.op === 'resync') console.error('missed events: re-read the state from the REST API');
    else if (m.op === 'heartbeat' || m.op === 'pong') return;
    else if (m.op === 'error') console.error(`server: ${m.message}`);
    else {
      lastId = m.id;
      console.log(JSON.stringify(m));
    }
  });
  ws.on('error', () => undefined); // 'close' follows
  ws.on('close', (code, reason) => {
    // Full jitter (random between 0 and the exponential bound), as gRPC's and AWS's backoff advise.
    const delay = Math.random() * Math.min(30_000, 500 * 2 ** attempt++);
    console.error(
      `closed (${code}${reason.length ? `: ${reason}` : ''}); reconnecting in ${Math.round(delay)} ms`,
    );
    setTimeout(connect, delay);
  });
}

connect();
