// N concurrent dashboard live-feed clients (/ui/live, with a session cookie); one incident is
// triggered through the API and each client's delay until it receives it is measured.
// Usage: node bench/sse_clients.mjs BASE_URL COOKIE TOKEN [clients]
import http from "node:http";

const [base, cookie, token, n = "200"] = process.argv.slice(2);
const clients = Number(n);
const url = new URL("/ui/live", base);
const agent = new http.Agent({ keepAlive: true, maxSockets: clients + 10 });
let connected = 0;
const delays = [];
let sent = 0;

function client() {
  return new Promise((resolve) => {
    const req = http.get({ host: url.hostname, port: url.port, path: url.pathname, agent,
      headers: { cookie, accept: "text/event-stream" } }, (res) => {
      if (res.statusCode !== 200) throw new Error(`status ${res.statusCode}`);
      connected++;
      let buf = "";
      res.on("data", (chunk) => {
        buf += chunk;
        if (sent && buf.includes("event: incident")) {
          delays.push(Date.now() - sent);
          req.destroy();
          resolve();
        }
      });
    });
    req.on("error", () => resolve());
  });
}

const done = Promise.all(Array.from({ length: clients }, client));
const start = Date.now();
while (connected < clients && Date.now() - start < 30000) await new Promise((r) => setTimeout(r, 50));
const lines = [];
for (let i = 0; i < 30; i++) {
  lines.push(JSON.stringify({ type: "auth", time: `2026-11-21T10:00:${String(i).padStart(2, "0")}Z`,
    source: "bench", data: { account: `v${i}`, ip: "198.51.100.99", action: "login", outcome: "failure" } }));
}
sent = Date.now();
const r = await fetch(new URL("/v1/events", base), { method: "POST",
  headers: { authorization: `Bearer ${token}`, "content-type": "application/x-ndjson" }, body: lines.join("\n") });
if (r.status !== 200) throw new Error(`ingest: ${r.status}`);
await Promise.race([done, new Promise((r) => setTimeout(r, 10000))]);
delays.sort((a, b) => a - b);
const pct = (p) => delays[Math.min(delays.length - 1, Math.floor(p * delays.length))];
console.log(`${connected}/${clients} clients connected; ${delays.length} received the incident; ` +
  `delay p50 ${pct(0.5)} ms, p99 ${pct(0.99)} ms, max ${delays[delays.length - 1]} ms`);
process.exit(delays.length === clients ? 0 : 1);
