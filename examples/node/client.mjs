// riptide-poold from Node: links, a price, an article, a lease, an event.
//   cd clients/node && npm ci && cd ../../examples/node && npm ci && node client.mjs 127.0.0.1:50051
import { Client } from "riptide-poold";

const PAGE = "<title>Tide tables</title><p>High water at 06:12, $12.50 a copy.</p><a href=/north>North</a> <a href=south.html>South</a>", URL = "https://tides.example.com/today/";
const c = await Client.connect(process.argv[2]);
console.log("links:", ...(await c.css(PAGE, { selector: "a", attribute: "href", all: true })).values);
console.log("price:", (await c.regex(PAGE, "\\$(?P<amount>[0-9.]+)")).matches[0].named.amount);
const article = await c.article(PAGE, "full", { url: URL });
console.log("article:", article.title, ...article.links.map((l) => l.url));
await c.withLease("css", async (lease) => {
  const title = await lease.css(PAGE, "title");
  console.log("lease:", title.values[0], title.served.instanceId === lease.instanceId ? "from the leased instance" : "from another");
});
setTimeout(() => c.css(PAGE, "p"), 200); // a checkout for the subscription below to see
for await (const ev of c.events({ kinds: ["EVENT_KIND_INSTANCE_CHECKED_OUT"], pools: ["css"], timeoutMs: 10_000 })) { console.log("event:", ev.kind); break; }
c.close();
