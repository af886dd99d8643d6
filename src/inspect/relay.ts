import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocket, WebSocketServer } from 'ws';

/** The Stately inspector UI (hosted online, DESIGN.md §6); the bridge page embeds it. */
export const STATELY_INSPECTOR_URL = 'https://stately.ai/inspect';
/** Inspection events kept for a browser that connects late. */
const REPLAY_EVENTS = 500;

export interface InspectorRelay {
  /** `ws://127.0.0.1:<port>`: where the optimizer's inspector sends. */
  readonly wsUrl: string;
  /** `http://127.0.0.1:<port>`: the page to open in a browser. */
  readonly pageUrl: string;
  close(): Promise<void>;
}

/** The bridge page: the hosted inspector in an iframe, fed with what arrives on the relay's WebSocket. */
function bridgePage(): string {
  return `<!doctype html>
<html><head><meta charset="utf-8"><title>Stately inspector: Enterprise API Optimizer</title>
<style>html,body{height:100%;margin:0}iframe{width:100%;height:100%;border:0}</style></head>
<body><iframe id="inspector" src="${STATELY_INSPECTOR_URL}"></iframe>
<script>
  const iframe = document.getElementById('inspector');
  const waiting = [];
  let connected = false;
  window.addEventListener('message', (e) => {
    if (e.data && e.data.type === '@statelyai.connected') {
      connected = true;
      for (const event of waiting.splice(0)) iframe.contentWindow.postMessage(event, '*');
    }
  });
  const ws = new WebSocket('ws://' + location.host);
  ws.onmessage = (message) => {
    const event = JSON.parse(message.data);
    if (connected) iframe.contentWindow.postMessage(event, '*');
    else waiting.push(event);
  };
</script></body></html>`;
}

/**
 * The local relay between the optimizer and the Stately inspector, like
 * `@statelyai/inspect/server` but listening on 127.0.0.1 only (actor snapshots are not for
 * the network): the optimizer's WebSocket inspector sends inspection events here, every
 * other connected client (the bridge page in a browser) receives them, and a late client
 * first gets the last few hundred.
 */
export async function startInspectorRelay(port: number, host = '127.0.0.1'): Promise<InspectorRelay> {
  const server: Server = createServer((req, res) => {
    const page = bridgePage();
    res.writeHead(req.url === '/' || req.url === '/index.html' ? 200 : 404, { 'content-type': 'text/html; charset=utf-8', 'content-length': Buffer.byteLength(page) });
    res.end(page);
  });
  const wss = new WebSocketServer({ server });
  const replay: string[] = [];
  wss.on('connection', (ws) => {
    for (const message of replay) ws.send(message);
    ws.on('message', (data) => {
      const message = data.toString();
      replay.push(message);
      if (replay.length > REPLAY_EVENTS) replay.shift();
      for (const client of wss.clients) if (client !== ws && client.readyState === WebSocket.OPEN) client.send(message);
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  return {
    wsUrl: `ws://${host}:${bound}`,
    pageUrl: `http://${host}:${bound}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close();
        server.close(() => resolve());
      }),
  };
}
