// Fleet load from the Node client: N css calls, C at a time, through one
// target; prints one JSON line {"ok": n, "failed": m, "errors": [...]}.
//
//   node load.mjs TARGET N C
import { Client } from "../node/dist/esm/index.mjs";

const [target, n, conc] = [process.argv[2], Number(process.argv[3]), Number(process.argv[4])];
const PAGE = "<html><head><title>fleet</title></head><body><h1>fleet</h1></body></html>";
const c = await Client.connect(target, { timeoutMs: 60_000 });
let next = 0, ok = 0;
const errors = [];
await Promise.all(Array.from({ length: conc }, async () => {
  while (next < n) {
    next++;
    try {
      const v = await c.css(PAGE, "h1");
      if (v.values.length === 1 && v.values[0] === "fleet") ok++;
    } catch (e) {
      errors.push(String(e));
    }
  }
}));
c.close();
console.log(JSON.stringify({ ok, failed: n - ok, errors: errors.slice(0, 5) }));
