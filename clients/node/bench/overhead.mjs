// What the Node client adds over the generated client: the same css
// question about one page, to the same daemon, alternating raw and library
// in rounds. Prints the median time per call of each and their ratio.
//
//   node bench/overhead.mjs ADDR PAGE [ROUNDS] [CALLS_PER_ROUND]
import { readFileSync } from "node:fs";
import { Client } from "../dist/esm/index.mjs";

const [addr, pagePath] = process.argv.slice(2);
const rounds = Number(process.argv[4] ?? 10), per = Number(process.argv[5] ?? 50);
const page = readFileSync(pagePath, "utf8");
const c = await Client.connect(addr);
const raw = c.stubFor(addr, c.limits); // the generated client, on its own channel
// As a caller of the generated client would: a request per call.
const rawCall = () => new Promise((res, rej) => raw.Extract({ html: page, css: { selector: "a", attribute: "href", all: true } }, { deadline: new Date(Date.now() + 30_000) }, (e, r) => (e ? rej(e) : res(r))));
const median = (xs) => xs.slice().sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const rawT = [], libT = [];
for (let j = 0; j < 20; j++) { await rawCall(); await c.css(page, "a"); } // warm-up
for (let i = 0; i < rounds; i++) {
  let t = performance.now();
  for (let j = 0; j < per; j++) await rawCall();
  rawT.push((performance.now() - t) / per);
  t = performance.now();
  for (let j = 0; j < per; j++) await c.css(page, { selector: "a", attribute: "href", all: true });
  libT.push((performance.now() - t) / per);
}
const r = median(rawT), l = median(libT);
console.log(`node raw ${r.toFixed(3)} ms  client ${l.toFixed(3)} ms  ratio ${(l / r).toFixed(3)}`);
raw.close();
c.close();
