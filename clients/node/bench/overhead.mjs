// What the Node client adds over the generated client (docs/CLIENTS.md,
// "Overhead"): the same css question about one page, to the same daemon,
// four ways, each building its request per call as a caller would:
//
//   stub    the generated client on the library's own channel (Client.stub):
//           same channel options, so the difference is the library's code;
//   client  Client.css;
//   stock   the generated client on a channel with grpc-js's defaults, for
//           what the library's channel options change;
//   twin    stub again, a control: its ratio to stub is the noise.
//
// The ways run in rounds, in an order that reverses every round, so that
// drift in the machine's load hits each alike. Prints, for the wall time
// and for this process's CPU time (the client's own work, which the
// other processes move less than the wall time), each way's median time per call
// over the rounds, and the median with the quartiles of each way's
// per-round ratio to stub.
//
//   node bench/overhead.mjs ADDR PAGE [ROUNDS] [CALLS_PER_ROUND]
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { Client } from "../dist/esm/index.mjs";

const require = createRequire(import.meta.url);
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [addr, pagePath] = process.argv.slice(2);
const rounds = Number(process.argv[4] ?? 30), per = Number(process.argv[5] ?? 30);
const page = readFileSync(pagePath, "utf8");
const c = await Client.connect(addr);
// The stock client: the library's proto-loader settings, grpc-js's channel defaults.
const def = protoLoader.loadSync(new URL("../proto/pool.proto", import.meta.url).pathname,
  { keepCase: true, longs: Number, enums: String, defaults: true, oneofs: true });
const Service = grpc.loadPackageDefinition(def).riptide.pool.v1.PoolService;
const stock = new Service(addr, grpc.credentials.createInsecure());

const stubCall = (stub) => () => new Promise((res, rej) => stub.Extract(
  { html: page, css: { selector: "a", attribute: "href", all: true } },
  { deadline: new Date(Date.now() + 30_000) }, (e, r) => (e ? rej(e) : res(r))));
const ways = {
  stub: stubCall(c.stub),
  client: () => c.css(page, { selector: "a", attribute: "href", all: true }),
  stock: stubCall(stock),
  twin: stubCall(c.stub), // the stub again: its ratio to stub is the noise
};
const times = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
const cpu = Object.fromEntries(Object.keys(ways).map((k) => [k, []]));
for (let j = 0; j < 20; j++) for (const run of Object.values(ways)) await run(); // warm-up
const order = Object.keys(ways);
for (let i = 0; i < rounds; i++) {
  for (const name of order) {
    const run = ways[name];
    const t = performance.now(), c0 = process.cpuUsage();
    for (let j = 0; j < per; j++) await run();
    times[name].push((performance.now() - t) / per);
    const c1 = process.cpuUsage(c0);
    cpu[name].push((c1.user + c1.system) / 1000 / per);
  }
  order.reverse();
}
// Quantiles by linear interpolation, as Python's statistics.quantiles (inclusive) would.
const quantile = (xs, q) => {
  const s = xs.slice().sort((a, b) => a - b), p = (s.length - 1) * q, lo = Math.floor(p);
  return s[lo] + (s[Math.min(lo + 1, s.length - 1)] - s[lo]) * (p - lo);
};
const summary = (xs) => `${quantile(xs, 0.5).toFixed(3)} [${quantile(xs, 0.25).toFixed(3)}, ${quantile(xs, 0.75).toFixed(3)}]`;
console.log(`node: ${rounds} rounds of ${per} calls; wall time, and this process's CPU time`);
for (const [label, xs] of [["wall", times], ["cpu", cpu]]) {
  const med = Object.keys(xs).map((k) => `${k} ${quantile(xs[k], 0.5).toFixed(3)}`).join(", ");
  const ratios = ["client", "stock", "twin"].map((k) => `${k} ${summary(xs[k].map((t, i) => t / xs.stub[i]))}`).join(", ");
  console.log(`node ${label}: median ms/call: ${med}; per-round ratio to stub, median [quartiles]: ${ratios}`);
}

// The library's own code per call, without the network and the daemon (and
// so without their noise): the stub's call and the library's answered at
// once by a canned response (the daemon's answer). The client's stub is
// swapped for the canned one (the bench reaches into the client), so the
// client is closed first.
const answer = await new Promise((res, rej) => c.stub.Extract(
  { html: page, css: { selector: "a", attribute: "href", all: true } }, (e, r) => (e ? rej(e) : res(r))));
stock.close();
c.close();
// The callback comes last, whether or not metadata and options come before
// it; the call it returns has what a caller may ask of a grpc-js call.
const cannedCall = { on() { return this; }, getPeer: () => "canned" };
const canned = { Extract: (...args) => { setImmediate(args.at(-1), null, answer); return cannedCall; } };
c.caller.stub = canned;
const cannedWays = {
  stub: stubCall(canned),
  client: () => c.css(page, { selector: "a", attribute: "href", all: true }),
};
const best = {};
for (let rep = 0; rep < 7; rep++) {
  for (const [name, run] of Object.entries(cannedWays)) {
    const t = performance.now();
    for (let j = 0; j < 5000; j++) await run();
    best[name] = Math.min(best[name] ?? Infinity, ((performance.now() - t) / 5000) * 1000);
  }
}
console.log(`node code alone (canned answer): stub ${best.stub.toFixed(1)} us/call, client ${best.client.toFixed(1)} us/call: ` +
  `the library adds ${(best.client - best.stub).toFixed(1)} us a call`);
