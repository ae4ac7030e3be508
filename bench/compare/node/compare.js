#!/usr/bin/env node
// Node peers of riptide-poold against the daemon, same pages, same run.
//
//   npm ci && node compare.js --addr 127.0.0.1:50051 --corpus DIR [--daemon-pid PID]
//
// CSS: the text of `title`, every `a@href` and the text of every `p`, with
// cheerio (its default parse5 parser, and htmlparser2 in HTML mode) in
// process, vs this same Node calling the daemon's Extract with
// @grpc/grpc-js. Articles: Readability.js on linkedom and on jsdom, vs the
// daemon's WASM `article` module; with each one's title checked against
// the corpus' expected-metadata.json.
//
// Every caller is a worker thread with its own parser or gRPC channel and
// its own event loop, so N callers use N cores: cheerio's best case. A
// measurement starts the workers at a barrier and divides the wall time from
// the first start to the last end by the calls made. Variants are
// interleaved round by round; a figure is the median over rounds.
//
// Output: one key=value line per measurement, read by report.py.
'use strict';

const fs = require('node:fs');
const path = require('node:path');
const { parseArgs } = require('node:util');
const { Worker, isMainThread, parentPort, workerData } = require('node:worker_threads');

const PROTO_ROOT = path.resolve(__dirname, '..', '..', '..', 'proto');
const PAGE_URL = 'http://fakehost/test/page.html'; // as Readability.js' own tests

const QUESTIONS = [
  { name: 'title', selector: 'title', attribute: '', all: false },
  { name: 'a-href-all', selector: 'a', attribute: 'href', all: true },
  { name: 'p-text-all', selector: 'p', attribute: '', all: true },
];

const norm = (s) => s.split(/\s+/).filter(Boolean).join(' ');

// loadPages returns the corpus pages sorted by size then name, as the Go
// benchmarks sort them; the median page is pages[floor(n / 2)].
function loadPages(corpus) {
  const pages = [];
  for (const name of fs.readdirSync(corpus).sort()) {
    const file = path.join(corpus, name, 'source.html');
    if (!fs.existsSync(file)) continue;
    const raw = fs.readFileSync(file);
    const meta = JSON.parse(fs.readFileSync(path.join(corpus, name, 'expected-metadata.json'), 'utf8'));
    pages.push({ name, size: raw.length, html: raw.toString('utf8'), title: meta.title || '' });
  }
  pages.sort((a, b) => a.size - b.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return pages;
}

// ---- peers.

function cheerioPeer(options) {
  const cheerio = require('cheerio');
  const ask = ($, q) => {
    let found = $(q.selector);
    if (!q.all) found = found.first();
    const out = [];
    found.each((_, el) => {
      if (q.attribute) {
        const v = $(el).attr(q.attribute);
        if (v !== undefined) out.push(v);
      } else {
        out.push(norm($(el).text()));
      }
    });
    return out;
  };
  return (qs) => async (html) => {
    const $ = cheerio.load(html, options);
    return qs.map((q) => ask($, q));
  };
}

function readabilityPeer(kind) {
  const { Readability } = require('@mozilla/readability');
  if (kind === 'jsdomparser') {
    // Readability.js' own minimal DOM parser, the fastest way to run it.
    const JSDOMParser = require('@mozilla/readability/JSDOMParser');
    return async (html) => new Readability(new JSDOMParser().parse(html, PAGE_URL)).parse()?.title ?? '';
  }
  if (kind === 'linkedom') {
    const { parseHTML } = require('linkedom');
    return async (html) => new Readability(parseHTML(html).document).parse()?.title ?? '';
  }
  const { JSDOM, VirtualConsole } = require('jsdom');
  return async (html) => {
    // A silent console: jsdom reports every stylesheet it cannot parse.
    const dom = new JSDOM(html, { url: PAGE_URL, virtualConsole: new VirtualConsole() });
    try {
      return new Readability(dom.window.document).parse()?.title ?? '';
    } finally {
      dom.window.close();
    }
  };
}

// ---- the daemon.

function daemonClient(addr) {
  const grpc = require('@grpc/grpc-js');
  const protoLoader = require('@grpc/proto-loader');
  const def = protoLoader.loadSync('riptide/pool/v1/pool.proto', {
    includeDirs: [PROTO_ROOT],
    keepCase: true,
    enums: String,
    defaults: false,
    oneofs: true,
  });
  const { PoolService } = grpc.loadPackageDefinition(def).riptide.pool.v1;
  const client = new PoolService(addr, grpc.credentials.createInsecure(), {
    'grpc.max_send_message_length': -1,
    'grpc.max_receive_message_length': -1,
  });
  const extract = (req) =>
    new Promise((resolve, reject) => {
      client.Extract(req, { deadline: Date.now() + 60000 }, (err, resp) => (err ? reject(err) : resolve(resp)));
    });
  const css = (q) => ({ selector: q.selector, attribute: q.attribute, all: q.all });
  return {
    // one: one Extract per question (a parse each).
    each: (qs) => async (html) => {
      const out = [];
      for (const q of qs) out.push((await extract({ html, css: css(q) })).values ?? []);
      return out;
    },
    // fields: one Extract answering all from one parse.
    fields: (qs) => {
      const fields = Object.fromEntries(qs.map((q) => [q.name, { css: css(q) }]));
      return async (html) => {
        const resp = await extract({ html, fields: { fields } });
        return qs.map((q) => resp.fields[q.name]?.values ?? []);
      };
    },
    article: async (html) => {
      const resp = await extract({ html, url: PAGE_URL, wasm: { module: 'article', mode: 'article' } });
      return resp.result?.fields?.title?.stringValue ?? '';
    },
    close: () => client.close(),
  };
}

// variants: name -> question -> async function(html).
function variants(addr, nativeAddr) {
  const d = daemonClient(addr);
  const v = {};
  const cheerios = [
    ['cheerio-parse5', cheerioPeer(undefined)],
    ['cheerio-htmlparser2', cheerioPeer({ xml: { xmlMode: false } })],
  ];
  for (const [name, peer] of cheerios) {
    v[name] = Object.fromEntries(QUESTIONS.map((q) => [q.name, peer([q])]));
    v[name].all = peer(QUESTIONS);
  }
  v['grpc-css'] = Object.fromEntries(QUESTIONS.map((q) => [q.name, d.each([q])]));
  v['grpc-css'].all = d.each(QUESTIONS);
  v['grpc-fields'] = { all: d.fields(QUESTIONS) };
  v['readability-linkedom'] = { article: readabilityPeer('linkedom') };
  v['readability-jsdom'] = { article: readabilityPeer('jsdom') };
  v['readability-jsdomparser'] = { article: readabilityPeer('jsdomparser') };
  v['grpc-article'] = { article: d.article };
  let close = d.close;
  if (nativeAddr) {
    // A second daemon, started with ARTICLE_ENGINE=native.
    const n = daemonClient(nativeAddr);
    v['grpc-article-native'] = { article: n.article };
    close = () => { d.close(); n.close(); };
  }
  return { v, close };
}

// ---- workers.

async function worker() {
  const { addr, nativeAddr, corpus, barrier, n } = workerData;
  const pages = loadPages(corpus);
  const sets = { median: [pages[Math.floor(pages.length / 2)].html], all: pages.map((p) => p.html) };
  const { v, close } = variants(addr, nativeAddr);
  const gate = new Int32Array(barrier);
  let generation = 0;
  parentPort.on('message', async (msg) => {
    if (msg === null) {
      close();
      parentPort.close();
      return;
    }
    const { kind, variant, q, set, iters } = msg;
    const fn = v[variant][q];
    const docs = sets[set];
    try {
      if (kind === 'answers') {
        const out = [];
        for (const h of docs) out.push(await fn(h));
        parentPort.postMessage({ answers: out });
        return;
      }
      // Barrier: every worker arrives, then all start together.
      generation++;
      if (Atomics.add(gate, 0, 1) + 1 === n * generation) Atomics.notify(gate, 0);
      else while (Atomics.load(gate, 0) < n * generation) Atomics.wait(gate, 0, Atomics.load(gate, 0), 10);
      const t0 = process.hrtime.bigint();
      for (let i = 0; i < iters; i++) for (const h of docs) await fn(h);
      const t1 = process.hrtime.bigint();
      parentPort.postMessage({ t0, t1, calls: iters * docs.length });
    } catch (err) {
      parentPort.postMessage({ error: String(err && err.stack ? err.stack : err) });
    }
  });
  parentPort.postMessage({ ready: true });
}

class Workers {
  constructor(n, addr, corpus, nativeAddr) {
    this.n = n;
    const barrier = new SharedArrayBuffer(4);
    this.ws = Array.from({ length: n }, () => new Worker(__filename, { workerData: { addr, nativeAddr, corpus, barrier, n } }));
  }
  ask(w, msg) {
    return new Promise((resolve, reject) => {
      const on = (m) => {
        w.off('message', on);
        if (m.error) reject(new Error(m.error));
        else resolve(m);
      };
      w.on('message', on);
      if (msg !== undefined) w.postMessage(msg);
    });
  }
  async ready() {
    await Promise.all(this.ws.map((w) => this.ask(w)));
  }
  // run: iters passes on every worker at once; wall seconds, process CPU
  // seconds (all threads) and calls made.
  async run(variant, q, set, iters) {
    const c0 = process.cpuUsage();
    const res = await Promise.all(this.ws.map((w) => this.ask(w, { kind: 'run', variant, q, set, iters })));
    const c = process.cpuUsage(c0);
    const t0 = res.reduce((m, r) => (r.t0 < m ? r.t0 : m), res[0].t0);
    const t1 = res.reduce((m, r) => (r.t1 > m ? r.t1 : m), res[0].t1);
    return { wall: Number(t1 - t0) / 1e9, cpu: (c.user + c.system) / 1e6, calls: res.reduce((s, r) => s + r.calls, 0) };
  }
  async answers(variant, q, set) {
    return (await this.ask(this.ws[0], { kind: 'answers', variant, q, set })).answers;
  }
  async close() {
    await Promise.all(this.ws.map((w) => new Promise((resolve) => { w.once('exit', resolve); w.postMessage(null); })));
  }
}

function daemonCPU(pid) {
  if (!pid) return 0;
  const f = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(')').pop().trim().split(/\s+/);
  return (Number(f[11]) + Number(f[12])) / 100; // USER_HZ is 100 on Linux
}

const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function measure(ws, items, opts, print) {
  const iters = new Map();
  for (const it of items) {
    const key = it.join('|');
    const [set, variant, q] = it;
    if (set === 'all') {
      iters.set(key, 1);
      continue;
    }
    // Warm up and calibrate: double the passes until one run takes a
    // quarter of a second (the JIT is hot and a major GC falls inside a
    // run), then size a measurement to about target seconds.
    let passes = 1;
    let wall = 0;
    for (;;) {
      ({ wall } = await ws.run(variant, q, set, passes));
      if (wall >= 0.25 || passes >= 1 << 14) break;
      passes *= 2;
    }
    iters.set(key, Math.max(5, Math.round((opts.target * passes) / Math.max(wall, 1e-6))));
  }
  const samples = new Map(items.map((it) => [it.join('|'), []]));
  const rounds = Math.max(opts.rounds, opts.roundsAll);
  for (let r = 0; r < rounds; r++) {
    for (const it of items) {
      const [set, variant, q] = it;
      if (r >= (set === 'median' ? opts.rounds : opts.roundsAll)) continue;
      const key = it.join('|');
      const pid = variant.endsWith('-native') ? opts.nativePid : opts.pid;
      const d0 = daemonCPU(pid);
      const { wall, cpu, calls } = await ws.run(variant, q, set, iters.get(key));
      const d1 = daemonCPU(pid);
      samples.get(key).push({ ns: wall / calls, cpu: cpu / calls, dcpu: (d1 - d0) / calls, calls });
    }
  }
  for (const it of items) {
    const [set, variant, q] = it;
    const s = samples.get(it.join('|'));
    if (!s.length) continue;
    const ns = s.map((x) => x.ns * 1e9);
    const dcpu = variant.startsWith('grpc') ? median(s.map((x) => x.dcpu)) * 1e9 : 0;
    print(
      `row lang=node set=${set} callers=${ws.n} variant=${variant} q=${q} ns_op=${median(ns).toFixed(0)} ` +
        `min_ns=${Math.min(...ns).toFixed(0)} max_ns=${Math.max(...ns).toFixed(0)} ` +
        `client_cpu_ns=${(median(s.map((x) => x.cpu)) * 1e9).toFixed(0)} daemon_cpu_ns=${dcpu.toFixed(0)} ` +
        `rounds=${s.length} calls=${s[0].calls} ` +
        // Per round: wall ns per call, and CPU ns per call of the caller plus
        // (for the daemon) the daemon's, for paired ratios.
        `w=${ns.map((x) => x.toFixed(0)).join(',')} ` +
        `c=${s.map((x) => ((x.cpu + (variant.startsWith('grpc') ? x.dcpu : 0)) * 1e9).toFixed(0)).join(',')}`,
    );
  }
}

function cssPlan() {
  const out = [];
  for (const q of [...QUESTIONS.map((x) => x.name), 'all']) {
    for (const v of ['cheerio-parse5', 'cheerio-htmlparser2', 'grpc-css']) out.push(['median', v, q]);
    if (q === 'all') out.push(['median', 'grpc-fields', q]);
  }
  for (const v of ['cheerio-parse5', 'cheerio-htmlparser2', 'grpc-css', 'grpc-fields']) out.push(['all', v, 'all']);
  return out;
}

const ARTICLE_VARIANTS = ['readability-linkedom', 'readability-jsdom', 'readability-jsdomparser', 'grpc-article'];

async function main() {
  const { values: a } = parseArgs({
    options: {
      addr: { type: 'string' },
      corpus: { type: 'string' },
      'daemon-pid': { type: 'string', default: '0' },
      callers: { type: 'string', default: '1,2' },
      rounds: { type: 'string', default: '5' },
      'rounds-all': { type: 'string', default: '3' },
      'article-rounds-all': { type: 'string', default: '1' },
      // The article comparison alone, against a second daemon started with
      // ARTICLE_ENGINE=native (bench/compare/article.sh).
      'native-addr': { type: 'string', default: '' },
      'native-daemon-pid': { type: 'string', default: '0' },
      only: { type: 'string', default: '' },
      target: { type: 'string', default: '0.3' },
    },
  });
  if (!a.addr || !a.corpus) throw new Error('usage: node compare.js --addr HOST:PORT --corpus DIR [--daemon-pid PID]');
  const print = (s) => console.log(s);
  const pages = loadPages(a.corpus);
  const med = pages[Math.floor(pages.length / 2)];
  const total = pages.reduce((s, p) => s + p.size, 0);
  const ver = (m) => require(`${m}/package.json`).version;
  print(`# node ${process.version}; median page ${med.name}, ${med.size} bytes; all: ${pages.length} pages, ${total} bytes; cores ${require('node:os').availableParallelism()}`);
  print(`# cheerio ${ver('cheerio')}, @mozilla/readability ${ver('@mozilla/readability')}, linkedom ${ver('linkedom')}, jsdom ${ver('jsdom')}, @grpc/grpc-js ${ver('@grpc/grpc-js')}, @grpc/proto-loader ${ver('@grpc/proto-loader')}`);
  const opts = {
    pid: Number(a['daemon-pid']),
    nativePid: Number(a['native-daemon-pid']),
    rounds: Number(a.rounds),
    roundsAll: Number(a['rounds-all']),
    target: Number(a.target),
  };
  const articleVariants = a['native-addr'] ? [...ARTICLE_VARIANTS, 'grpc-article-native'] : ARTICLE_VARIANTS;
  // jsdom, the slowest by far, is left out of the article-only run: the
  // full run (run.sh) measures it.
  const onlyArticle = articleVariants.filter((v) => v !== 'readability-jsdom');
  if (a.only === 'article') {
    const ws = new Workers(1, a.addr, a.corpus, a['native-addr']);
    await ws.ready();
    try {
      for (const v of onlyArticle) {
        const titles = await ws.answers(v, 'article', 'all');
        const miss = pages.filter((p, i) => norm(titles[i]) !== norm(p.title)).map((p) => p.name);
        print(`quality lang=node variant=${v} title_match=${pages.length - miss.length} pages=${pages.length} miss=${miss.join(',') || '-'}`);
      }
      // Every page of the corpus, each pass: the figure the targets name.
      const items = onlyArticle.map((v) => ['all', v, 'article']);
      await measure(ws, items, { ...opts, roundsAll: Number(a['article-rounds-all']) }, print);
    } finally {
      await ws.close();
    }
    return;
  }
  for (const n of a.callers.split(',').map(Number)) {
    const ws = new Workers(n, a.addr, a.corpus);
    await ws.ready();
    try {
      if (n === 1) {
        for (const v of ['cheerio-parse5', 'cheerio-htmlparser2', 'grpc-css', 'grpc-fields']) {
          const [ans] = await ws.answers(v, 'all', 'median');
          const counts = QUESTIONS.map((q, i) => `${q.name}=${ans[i].length}`).join(' ');
          print(`# answers set=median variant=${v} ${counts} title=${JSON.stringify((ans[0][0] || '').slice(0, 60))}`);
        }
        // Quality: each article variant's title against expected-metadata.json,
        // on every page (this pass also warms them up).
        for (const v of ARTICLE_VARIANTS) {
          const titles = await ws.answers(v, 'article', 'all');
          const miss = pages.filter((p, i) => norm(titles[i]) !== norm(p.title)).map((p) => p.name);
          print(`quality lang=node variant=${v} title_match=${pages.length - miss.length} pages=${pages.length} miss=${miss.join(',') || '-'}`);
        }
      }
      await measure(ws, cssPlan(), opts, print);
      if (n === 1) {
        const items = [...ARTICLE_VARIANTS.map((v) => ['median', v, 'article']), ...ARTICLE_VARIANTS.map((v) => ['all', v, 'article'])];
        await measure(ws, items, { ...opts, roundsAll: Number(a['article-rounds-all']) }, print);
      }
    } finally {
      await ws.close();
    }
  }
}

if (isMainThread) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
} else {
  worker();
}
