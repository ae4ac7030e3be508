import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import * as grpc from "@grpc/grpc-js";
import {
  Client, DocumentTooLarge, InvalidRequest, LeaseNotFound, PoolExhausted, RiptideError, decodeValue, fromServiceError, retries,
} from "../dist/esm/index.mjs";
import { startDaemon } from "./daemon.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const PAGE = `<html lang=en><head><title>Tide tables</title></head><body><article>
<h1>Tide tables</h1><p>High water at 06:12 and 18:40, low water at 12:25. Readings from the
harbour office, updated every morning with the forecast for the week ahead, $12.50 a copy.</p>
<a href="/north">North</a> <a href="https://example.org/south">South</a>
</article></body></html>`;
const URL_ = "https://example.com/tides/";

test("the packaged proto is the API contract", () => {
  assert.equal(readFileSync(path.join(here, "..", "proto", "pool.proto"), "utf8"),
    readFileSync(path.join(here, "..", "..", "..", "proto", "riptide", "pool", "v1", "pool.proto"), "utf8"),
    "clients/node/proto/pool.proto differs from proto/riptide/pool/v1/pool.proto: npm run build copies it");
});

test("google.protobuf.Value in both spellings, nested", () => {
  const camel = { kind: "structValue", structValue: { fields: { links: { kind: "listValue", listValue: { values: [
    { kind: "structValue", structValue: { fields: { url: { kind: "stringValue", stringValue: "u" }, n: { kind: "numberValue", numberValue: 2 } } } },
    { kind: "nullValue", nullValue: "NULL_VALUE" }, { kind: "boolValue", boolValue: true }] } } } } };
  const snake = { kind: "struct_value", struct_value: { fields: { links: { kind: "list_value", list_value: { values: [
    { kind: "struct_value", struct_value: { fields: { url: { kind: "string_value", string_value: "u" }, n: { kind: "number_value", number_value: 2 } } } },
    { kind: "null_value", null_value: 0 }, { kind: "bool_value", bool_value: true }] } } } } };
  const want = { links: [{ url: "u", n: 2 }, null, true] };
  assert.deepEqual(decodeValue(camel), want);
  assert.deepEqual(decodeValue(snake), want);
  let deep = { kind: "stringValue", stringValue: "x" };
  for (let i = 0; i < 2000; i++) deep = { kind: "listValue", listValue: { values: [deep] } };
  assert.throws(() => decodeValue(deep), RangeError);
});

test("retry classes", () => {
  const S = grpc.status;
  for (const [cls, code, reason, want] of [
    [1, S.UNAVAILABLE, "", true], [1, S.RESOURCE_EXHAUSTED, "POOL_EXHAUSTED", true],
    [1, S.RESOURCE_EXHAUSTED, "DOCUMENT_TOO_LARGE", false], [1, S.INVALID_ARGUMENT, "INVALID_REQUEST", false],
    [2, S.UNAVAILABLE, "", false], [2, S.UNAVAILABLE, "SHUTTING_DOWN", true], [0, S.RESOURCE_EXHAUSTED, "POOL_EXHAUSTED", false],
  ]) assert.equal(retries(cls, code, reason), want, `${cls} ${code} ${reason}`);
});

test("a malformed status trailer keeps the error", () => {
  const md = new grpc.Metadata();
  md.add("grpc-status-details-bin", Buffer.from([0xff, 0xff, 0xff]));
  const err = fromServiceError({ code: grpc.status.UNAVAILABLE, details: "x", metadata: md });
  assert.equal(err.code, grpc.status.UNAVAILABLE);
  assert.equal(err.reason, "");
});

describe("against a daemon", () => {
  let d, small, c;
  before(async () => {
    [d, small] = await Promise.all([
      startDaemon({ MAX_DOCUMENT_BYTES: "8388608", MAX_RESULT_BYTES: "16777216" }),
      startDaemon({ NATIVE_POOL_SIZE: "1", NATIVE_MAX_INSTANCES: "1", CHECKOUT_TIMEOUT_MS: "100", WASM_POOL_ENABLED: "false", MAX_DOCUMENT_BYTES: "4096" }),
    ]);
    c = await Client.connect(d.addr);
  });
  after(async () => {
    c?.close();
    await Promise.all([d?.stop(), small?.stop()]);
  });

  test("extract helpers", async () => {
    const v = await c.css(PAGE, { selector: "a", attribute: "href", all: true }, { url: URL_ });
    assert.deepEqual(v.values, ["/north", "https://example.org/south"]);
    assert.equal(v.served.pool, "css");
    assert.deepEqual((await c.css(PAGE, { selector: "a", attribute: "href", all: true, absoluteUrls: true }, { url: URL_ })).values,
      ["https://example.com/north", "https://example.org/south"]);
    const n = await c.xpath(PAGE, "count(//a)");
    assert.deepEqual([n.values, n.xpath.type, n.xpath.number], [["2"], "number", 2]);
    assert.deepEqual((await c.xpath(PAGE, { expression: "//h1" })).values, ["Tide tables"]);
    const sd = await c.structured('<head><meta property="og:title" content="Tides"><script type="application/ld+json">{"@type": "Article", "wordCount": 3}</script></head>');
    assert.deepEqual(sd.result["json-ld"], [{ "@type": "Article", wordCount: 3 }]);
    const m = await c.regex(PAGE, { pattern: "\\$(?P<amount>[0-9.]+)", all: true });
    assert.deepEqual(m.matches.map((x) => x.named.amount), ["12.50"]);
    const f = await c.fields(PAGE, { title: { css: { selector: "title" } }, times: { regex: { pattern: "[0-9]{2}:[0-9]{2}", all: true } },
      links: { xpath: { expression: "//a/@href", all: true } }, data: { structured: { syntaxes: ["json-ld"] } } });
    assert.deepEqual(f.fields.links.values, ["/north", "https://example.org/south"]);
    assert.deepEqual(f.fields.data.result, { "json-ld": [] });
    assert.equal(f.fields.title.result, undefined);
    assert.deepEqual(f.fields.title.values, ["Tide tables"]);
    assert.deepEqual(f.fields.times.matches.map((x) => x.value), ["06:12", "18:40", "12:25"]);
    const a = await c.article(PAGE, "full", { url: URL_ });
    assert.equal(a.title, "Tide tables");
    assert.deepEqual(a.links.map((l) => l.url), ["https://example.com/north", "https://example.org/south"]);
    assert.ok(a.word_count > 10);
    const r = await c.wasm(PAGE, { mode: "custom", selectors: ["h1", "a"] });
    assert.deepEqual(r.result.selectors, { h1: ["Tide tables"], a: ["North", "South"] });
    const raw = await c.css(Buffer.from([0x3c, 0x70, 0x3e, 0x63, 0x61, 0x66, 0xe9, 0x3c, 0x2f, 0x70, 0x3e]), "p", { contentType: "text/html; charset=windows-1252" });
    assert.deepEqual(raw.values, ["café"]);
  });

  for (const [name, call, field] of [
    ["bad selector", (c) => c.css("<p>x</p>", "p[[["), "css.selector"],
    ["bad pattern", (c) => c.regex("<p>x</p>", "("), "regex.pattern"],
    ["unknown module", (c) => c.wasm("<p>x</p>", { module: "nope" }), "wasm.module"],
    ["bad output, not sent", (c) => c.css("<p>x</p>", { selector: "p", output: "bogus" }), "css.output"],
    ["field with two questions, not sent", (c) => c.fields("<p>x</p>", { x: { css: { selector: "p" }, regex: { pattern: "x" } } }), "fields.x"],
  ]) {
    test(`InvalidRequest: ${name}`, async () => {
      await assert.rejects(call(c), (e) => e instanceof InvalidRequest && e instanceof RiptideError &&
        !(e instanceof PoolExhausted) && e.field === field && e.code === grpc.status.INVALID_ARGUMENT);
    });
  }

  // small's MAX_DOCUMENT_BYTES is 4096: a string's length decides unless it
  // lies between 4096 / 3 and 4096, where its UTF-8 form is measured.
  for (const [name, doc, refused] of [
    ["longer than the limit", "x".repeat(5000), true],
    ["at the limit", "x".repeat(4096), false],
    ["3-byte characters just over, in the measured range", "€".repeat(1366), true],
    ["3-byte characters just under", "€".repeat(1365), false],
    ["4-byte characters over, half as many code units", "😀".repeat(1025), true],
    ["bytes over the limit", new Uint8Array(4097), true],
  ]) {
    test(`document size: ${name}: ${refused ? "refused, not sent" : "sent"}`, async () => {
      const s = await Client.connect(small.addr);
      try {
        const call = s.css(doc, "p");
        if (refused) {
          const field = typeof doc === "string" ? "html" : "raw_html";
          await assert.rejects(call, (e) => e instanceof DocumentTooLarge && e.attempts === 0 && e.field === field);
        } else {
          assert.deepEqual((await call).values, []);
        }
      } finally {
        s.close();
      }
    });
  }

  test("a result over 4 MiB: a stock client fails, the library receives it", async () => {
    const doc = "<html><body>" + ("<p>" + "riptide ".repeat(100) + "</p>").repeat(7000) + "</body></html>";
    await assert.rejects(new Promise((resolve, reject) => {
      const stock = c.stubFor(d.addr, undefined);
      stock.Extract({ html: doc, css: { selector: "body", output: "CSS_OUTPUT_OUTER_HTML" } }, (err, r) => { stock.close(); err ? reject(err) : resolve(r); });
    }), (e) => e.code === grpc.status.RESOURCE_EXHAUSTED);
    const v = await c.css(doc, { selector: "body", output: "outer_html" }, { timeoutMs: 60_000 });
    assert.ok(v.values[0].length > 4 << 20);
  });

  test("POOL_EXHAUSTED is retried until the pool frees up", async () => {
    const once = await Client.connect(small.addr, { maxAttempts: 1 });
    const lease = await once.lease("css", 60_000);
    await assert.rejects(once.css("<h1>x</h1>", "h1"), (e) => e instanceof PoolExhausted && e.retryDelayMs > 0 && e.attempts === 1);
    const retrying = await Client.connect(small.addr, { maxAttempts: 1000, maxRetryDelayMs: 1000 });
    const pending = retrying.css("<h1>x</h1>", "h1", { timeoutMs: 60_000 });
    const timeouts = async () => (await once.getMetrics(["css"])).pools[0].timeouts;
    const before = await timeouts();
    while ((await timeouts()) <= before) await new Promise((r) => setTimeout(r, 20));
    await lease.release();
    assert.deepEqual((await pending).values, ["x"]);
    once.close();
    retrying.close();
  });

  test("what a Scrapy user brings: parsel selectors, absolute URLs in fields, XPath field types, a cut structured answer", async () => {
    const page = '<html><head><base href="/docs/"></head><body><h1>Tides <b>today</b></h1>' +
      '<a href="north">North</a><a href="http://a b/">Bad</a><img srcset="s.png 1x, /l.png 2x"></body></html>';
    assert.deepEqual((await c.css(page, { selector: "h1::text", all: true })).values, ["Tides "]);
    assert.deepEqual((await c.css(page, { selector: "h1 ::text", all: true })).values, ["Tides ", "today"]);
    assert.deepEqual((await c.css(page, { selector: "a::attr(href)", all: true })).values, ["north", "http://a b/"]);
    const abs = await c.css(page, { selector: "a::attr(href)", all: true, absoluteUrls: true }, { url: URL_ });
    assert.deepEqual([abs.values, abs.unresolvedUrls], [["https://example.com/docs/north", "http://a b/"], 1]);
    assert.deepEqual((await c.css(page, { selector: "img::attr(srcset)", absoluteUrls: true }, { url: URL_ })).values,
      ["https://example.com/docs/s.png 1x, https://example.com/l.png 2x"]);
    const f = await c.fields(page, {
      css: { css: { selector: "a::attr(href)", all: true, absoluteUrls: true } },
      xpath: { xpath: { expression: "//a/@href", all: true, absoluteUrls: true } },
      count: { xpath: { expression: "count(//a)" } }, any: { xpath: { expression: "boolean(//img)" } },
    }, { url: URL_ });
    for (const name of ["css", "xpath"]) {
      assert.deepEqual([f.fields[name].values, f.fields[name].unresolvedUrls], [["https://example.com/docs/north", "http://a b/"], 1], name);
    }
    assert.equal(f.fields.css.xpath, undefined);
    assert.equal(f.fields.xpath.xpath.type, "node_set");
    assert.deepEqual([f.fields.count.xpath.type, f.fields.count.xpath.number], ["number", 2]);
    assert.deepEqual([f.fields.any.xpath.type, f.fields.any.xpath.boolean], ["boolean", true]);

    const most = (await c.listExtractors()).limits.max_structured_items;
    assert.ok(most > 0);
    const metas = "<head>" + '<meta name="k" content="v">'.repeat(most + 1) + "</head>";
    const cut = await c.structured(metas, { syntaxes: ["meta"] });
    assert.deepEqual([cut.result.meta.length, cut.truncated], [most, true]);
    const whole = await c.structured('<head><meta name="k" content="v"></head>', { syntaxes: ["meta"] });
    assert.deepEqual([whole.result.meta.length, whole.truncated], [1, false]);
    await c.withLease("css", async (lease) => {
      const r = await lease.structured(metas, { syntaxes: ["meta"] });
      assert.deepEqual([r.result.meta.length, r.truncated, r.served.instanceId], [most, true, lease.instanceId]);
    });
  });

  test("leases release on exit", async () => {
    const leased = async () => (await c.getMetrics(["css"])).pools[0].leased;
    const id = await c.withLease("css", async (lease) => {
      assert.equal(await leased(), 1);
      for (let i = 0; i < 2; i++) assert.equal((await lease.css("<h1>x</h1>", "h1")).served.instanceId, lease.instanceId);
      await lease.renew(120_000);
      return lease.id;
    }, 60_000);
    assert.equal(await leased(), 0);
    await assert.rejects(new Promise((resolve, reject) => c.stub.RenewLease({ lease_id: id }, (e, r) => (e ? reject(e) : resolve(r)))),
      (e) => fromServiceError(e) instanceof LeaseNotFound);
    const l = await c.lease("css");
    await l[Symbol.asyncDispose ?? Symbol.for("Symbol.asyncDispose")]();
    await l.release();
    assert.equal(await leased(), 0);
  });

  test("events as an async iterator", async () => {
    const got = (async () => {
      for await (const ev of c.events({ kinds: ["EVENT_KIND_INSTANCE_CHECKED_OUT"], pools: ["regex"], timeoutMs: 30_000 })) {
        return [ev.pool, ev.kind];
      }
    })();
    let done = false;
    got.finally(() => (done = true));
    while (!done) {
      await c.regex("<p>x</p>", "x");
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.deepEqual(await got, ["regex", "instance_checked_out"]);
  });
});
