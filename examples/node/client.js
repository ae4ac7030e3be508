#!/usr/bin/env node
// A riptide-poold client in Node.js: extract a page's title and links,
// lease an instance and extract on it, read an article with the WASM
// module, and subscribe to pool events.
//
//   npm ci && node client.js --addr 127.0.0.1:50051 [--check]
//
// The API is loaded from proto/riptide/pool/v1/pool.proto at run time with
// @grpc/proto-loader, so there are no generated files to keep in step.
//
// RPCs the daemon does not implement yet answer UNIMPLEMENTED; each such
// step prints SKIP and the program goes on. Any other error fails it.
'use strict';

const path = require('node:path');
const { parseArgs } = require('node:util');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PROTO_ROOT = path.resolve(__dirname, '..', '..', 'proto');
const PAGE = `<!doctype html>
<html><head><title>Tide tables</title></head>
<body><h1>Tide tables</h1>
<p>High water at 06:12 and 18:40.</p>
<a href="/north">North shore</a> <a href="south.html">South shore</a>
<a href="https://example.org/charts">Charts</a>
</body></html>`;
const PAGE_URL = 'https://tides.example.com/today/';

class Skip extends Error {}

function loadClient(addr) {
  const def = protoLoader.loadSync('riptide/pool/v1/pool.proto', {
    includeDirs: [PROTO_ROOT],
    keepCase: true, // field names as in the proto: lease_id, not leaseId
    enums: String,
    defaults: true,
    oneofs: true, // a oneof's case as a property, e.g. event.kind
  });
  const { PoolService } = grpc.loadPackageDefinition(def).riptide.pool.v1;
  return new PoolService(addr, grpc.credentials.createInsecure());
}

// call makes a unary call as a promise, turning UNIMPLEMENTED into Skip.
function call(client, method, request, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    client[method](request, { deadline: Date.now() + timeoutMs }, (err, resp) => {
      if (err && err.code === grpc.status.UNIMPLEMENTED) reject(new Skip(err.details));
      else if (err) reject(err);
      else resolve(resp);
    });
  });
}

async function titleAndLinks(client) {
  const resp = await call(client, 'Extract', {
    html: PAGE,
    url: PAGE_URL,
    fields: {
      fields: {
        title: { css: { selector: 'title' } },
        links: { css: { selector: 'a[href]', attribute: 'href', all: true } },
        link_text: { css: { selector: 'a[href]', all: true } },
      },
    },
  });
  const title = resp.fields.title.values;
  // CSS answers attributes as written; resolve them against the page URL.
  const hrefs = resp.fields.links.values.map((h) => new URL(h, PAGE_URL).href);
  console.log(`title: ${JSON.stringify(title[0])} (pool ${resp.pool}, instance ${resp.instance_id})`);
  hrefs.forEach((h, i) => console.log(`  link ${JSON.stringify(resp.fields.link_text.values[i])} -> ${h}`));
  return { title, hrefs };
}

// structValue turns a google.protobuf.Value, as proto-loader decodes it,
// into plain JavaScript.
function structValue(v) {
  switch (v.kind) {
    case 'struct_value': return fromStruct(v.struct_value);
    case 'list_value': return (v.list_value.values || []).map(structValue);
    case 'null_value': return null;
    default: return v[v.kind];
  }
}
function fromStruct(s) {
  return Object.fromEntries(Object.entries(s.fields || {}).map(([k, v]) => [k, structValue(v)]));
}

async function article(client) {
  const resp = await call(client, 'Extract', { html: PAGE, url: PAGE_URL, wasm: { module: 'article', mode: 'article' } });
  const result = fromStruct(resp.result);
  console.log(`article: title ${JSON.stringify(result.title)}, ${result.word_count} words, ${(result.links || []).length} links`);
  return result;
}

async function lease(client) {
  const { lease } = await call(client, 'Checkout', { pool: 'css', ttl: { seconds: 30 } });
  console.log(`leased ${lease.instance_id} of pool ${lease.pool}`);
  const instances = new Set();
  try {
    for (const selector of ['h1', 'p']) {
      const r = await call(client, 'Extract', { html: PAGE, css: { selector }, lease_id: lease.lease_id });
      instances.add(r.instance_id);
      console.log(`  on the lease: ${selector} -> ${JSON.stringify(r.values)}`);
    }
    await call(client, 'RenewLease', { lease_id: lease.lease_id, ttl: { seconds: 60 } });
  } finally {
    await call(client, 'ReleaseLease', { lease_id: lease.lease_id });
    console.log('  released');
  }
  return { instances: [...instances], leased: lease.instance_id };
}

// events subscribes to checkout and return events of the css pool, causes
// some with extractions, and answers the first few kinds.
function events(client, want = 2, timeoutMs = 10000) {
  return new Promise((resolve, reject) => {
    const got = [];
    const stream = client.PoolEvents(
      { kinds: ['EVENT_KIND_INSTANCE_CHECKED_OUT', 'EVENT_KIND_INSTANCE_RETURNED'], pools: ['css'] },
      { deadline: Date.now() + timeoutMs },
    );
    let done = false;
    const finish = (err) => {
      if (done) return;
      done = true;
      clearInterval(ticker);
      stream.cancel();
      if (err) reject(err); else resolve(got);
    };
    const ticker = setInterval(() => {
      client.Extract({ html: PAGE, css: { selector: 'h1' } }, () => {});
    }, 100);
    stream.on('data', ({ event }) => {
      got.push(event.kind);
      console.log(`  event ${event.kind} pool=${event.pool} instance=${event.instance_id}`);
      if (got.length >= want) finish();
    });
    stream.on('error', (err) => {
      if (err.code === grpc.status.CANCELLED && done) return;
      finish(err.code === grpc.status.UNIMPLEMENTED ? new Skip(err.details) : err);
    });
    stream.on('end', () => finish());
  });
}

const same = (a, b) => JSON.stringify(a) === JSON.stringify(b);

async function main() {
  const { values: args } = parseArgs({
    options: {
      addr: { type: 'string', default: process.env.RIPTIDE_ADDR || '127.0.0.1:50051' },
      check: { type: 'boolean', default: false },
    },
  });
  const client = loadClient(args.addr);
  await new Promise((resolve, reject) =>
    client.waitForReady(Date.now() + 10000, (err) => (err ? reject(err) : resolve())));
  let failures = 0;
  const step = async (name, fn, check) => {
    console.log(`== ${name}`);
    let result;
    try {
      result = await fn(client);
    } catch (err) {
      if (err instanceof Skip) {
        console.log(`SKIP ${name}: the daemon does not implement it yet (${err.message})`);
        return;
      }
      throw err;
    }
    const problem = args.check ? check(result) : null;
    if (problem) {
      console.log(`FAIL ${name}: ${problem}`);
      failures++;
    } else {
      console.log(`OK ${name}`);
    }
  };
  await step('title and links', titleAndLinks, (r) =>
    same(r.title, ['Tide tables']) &&
    same(r.hrefs, ['https://tides.example.com/north', 'https://tides.example.com/today/south.html', 'https://example.org/charts'])
      ? null : `got ${JSON.stringify(r)}`);
  await step('article (wasm)', article, (r) => (r.title === 'Tide tables' ? null : `got title ${JSON.stringify(r.title)}`));
  await step('lease', lease, (r) => (same(r.instances, [r.leased]) ? null : `extractions ran on ${r.instances}, leased ${r.leased}`));
  await step('events', events, (r) => (r.includes('instance_checked_out') ? null : `got ${JSON.stringify(r)}`));
  client.close();
  return failures ? 1 : 0;
}

main().then((code) => { process.exitCode = code; }, (err) => {
  console.error(`FAIL: ${err.stack || err}`);
  process.exitCode = 1;
});
