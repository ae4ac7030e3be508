#!/usr/bin/env python3
"""Writes docs/COMPARE.md from the raw outputs that bench/compare/run.sh
leaves in docs/dev/compare-*.txt (key=value lines, and go test -bench
output). Standard library only.

    python3 bench/compare/report.py --dev docs/dev --out docs/COMPARE.md
"""

import argparse
import math
import pathlib
import re
import statistics

HERE = pathlib.Path(__file__).resolve().parent
QS = ["title", "a-href-all", "p-text-all"]
QNAME = {"title": "`title` text", "a-href-all": "every `a@href`", "p-text-all": "all `p` text",
         "all": "all three (one parse)"}


def paired(a, b, key):
    """The median over rounds of a's figure over b's in the same round
    (key "w": wall time, "c": CPU time), or nan."""
    if not a or not b or key not in a or key not in b:
        return float("nan")
    xs = [float(x) for x in str(a[key]).split(",")]
    ys = [float(y) for y in str(b[key]).split(",")]
    rs = [x / y for x, y in zip(xs, ys) if y > 0]
    return statistics.median(rs) if rs else float("nan")


def kv_lines(path, prefix):
    out = []
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        if not line.startswith(prefix + " "):
            continue
        d = {}
        for f in line.split()[1:]:
            k, _, v = f.partition("=")
            try:
                d[k] = float(v) if k not in ("w", "c", "miss", "step") else v
            except ValueError:
                d[k] = v
        out.append(d)
    return out


def comments(path):
    return [l[2:] for l in path.read_text().splitlines() if l.startswith("# ")] if path.exists() else []


def geomean(xs):
    xs = [x for x in xs if x and x > 0]
    return math.exp(sum(math.log(x) for x in xs) / len(xs)) if xs else float("nan")


def ms(ns):
    return f"{ns / 1e6:.2f}"


def ratio(x):
    return f"{x:.2f}x" if x == x else "n/a"


class Rows:
    def __init__(self, rows):
        self.by = {(r["set"], int(r["callers"]), r["variant"], r["q"]): r for r in rows}

    def get(self, s, n, v, q):
        return self.by.get((s, n, v, q))

    def ns(self, s, n, v, q):
        r = self.get(s, n, v, q)
        return r["ns_op"] if r else float("nan")

    def callers(self):
        return sorted({k[1] for k in self.by})


def spread(r):
    """The rounds' range around the median, in percent."""
    if not r or r["rounds"] < 2:
        return ""
    return f" (±{100 * (r['max_ns'] - r['min_ns']) / 2 / r['ns_op']:.0f}%)"


def css_section(md, rows, lang, peers, grpc_name, baseline, target_text):
    """Tables for one language's CSS comparison."""
    R = Rows(rows)
    results, cpu_results = {}, {}
    for n in R.callers():
        who = "1 caller" if n == 1 else f"{n} callers ({'processes' if lang == 'python' else 'worker threads'}, one per core)"
        md.append(f"\n**Median page, {who}** — ms per page (median of rounds, ± half the rounds' range); then "
                  f"each peer's time over the daemon's, as the median over rounds of the ratio within a round, "
                  f"wall time and in brackets CPU time (the caller's, plus the daemon's for the daemon); "
                  f"above 1 = the daemon is faster or cheaper:\n")
        head = "| question | " + " | ".join(peers) + " | daemon (css) | daemon (fields) | " + \
            " | ".join(f"{p} / daemon" for p in peers) + " |"
        md.append(head)
        md.append("|" + " --- |" * (head.count("|") - 1))
        gm, gmc = {}, {}
        for q in QS + ["all"]:
            g = R.get("median", n, "grpc-css", q)
            f = R.get("median", n, "grpc-fields", q) if q == "all" else None
            d = f or g  # one parse: compare with the fields call
            cells = [ms(R.ns("median", n, p, q)) + spread(R.get("median", n, p, q)) for p in peers]
            cells += [ms(g["ns_op"]) + spread(g), ms(f["ns_op"]) + spread(f) if f else "—"]
            for p in peers:
                pr = R.get("median", n, p, q)
                w, c = paired(pr, d, "w"), paired(pr, d, "c")
                cells.append(f"{ratio(w)} ({ratio(c)})")
                if q in QS:
                    gm.setdefault(p, []).append(w)
                    gmc.setdefault(p, []).append(c)
            label = QNAME[q] + (" — daemon: 3 css calls / 1 fields call" if q == "all" else "")
            md.append(f"| {label} | " + " | ".join(cells) + " |")
        gm = {p: geomean(v) for p, v in gm.items()}
        gmc = {p: geomean(v) for p, v in gmc.items()}
        md.append("| **geomean of the 3 questions** (one parse each) | " + " | ".join("" for _ in peers) +
                  " | | | " + " | ".join(f"**{ratio(gm[p])}** ({ratio(gmc[p])})" for p in peers) + " |")
        cpu_results[n] = gmc
        results[n] = gm
        # Where the daemon's time goes.
        parts = []
        for q in QS + ["all"]:
            for v in ["grpc-css", "grpc-fields"]:
                r = R.get("median", n, v, q)
                if not r:
                    continue
                parts.append(f"{QNAME[q]} via {v[5:]}: wall {ms(r['ns_op'])} ms = client CPU {ms(r['client_cpu_ns'])} "
                             f"+ daemon CPU {ms(r['daemon_cpu_ns'])} ms per page")
        md.append("\nWhere the daemon's time goes (CPU per page, the caller's process and the daemon's; "
                  "with more callers than cores the two compete for the same cores):\n")
        md.extend(f"- {p}" for p in parts)
    if any(k[0] == "all" for k in R.by):
        md.append(f"\n**All pages** (one pass per round over the 65 pages, each page asked all "
                  "three questions) — ms per page, and each peer's time over the daemon's `fields` call, wall (CPU):\n")
        head = "| callers | " + " | ".join(peers) + " | daemon (3 css calls) | daemon (fields) | " + \
            " | ".join(f"{p} / daemon" for p in peers) + " |"
        md.append(head)
        md.append("|" + " --- |" * (head.count("|") - 1))
        for n in R.callers():
            f = R.get("all", n, "grpc-fields", "all")
            cells = [ms(R.ns("all", n, p, "all")) for p in peers]
            cells += [ms(R.ns("all", n, "grpc-css", "all")), ms(f["ns_op"]) if f else "—"]
            cells += [f"{ratio(paired(R.get('all', n, p, 'all'), f, 'w'))} ({ratio(paired(R.get('all', n, p, 'all'), f, 'c'))})"
                      for p in peers]
            md.append(f"| {n} | " + " | ".join(cells) + " |")
    return R, results, cpu_results


def article_engines(md, dev, targets):
    """The article section: both engines of the bundled module against
    Readability.js from Node and readability-lxml from Python
    (bench/compare/article.sh), one caller, every page of the corpus."""
    node = kv_lines(dev / "compare-article-node.txt", "row")
    py = kv_lines(dev / "compare-article-python.txt", "row")
    if not node and not py:
        return
    md.append("\n## article: both engines against Readability.js and readability-lxml\n")
    md.append("The bundled `article` module (mode `article`, URL `http://fakehost/test/page.html`) from two "
              "daemons side by side, one started with `ARTICLE_ENGINE=wasm` (the default: the sandbox) and one "
              "with `ARTICLE_ENGINE=native` (`internal/article` in the daemon's process; the README says what "
              "it gives up), against Readability.js 0.6 in-process from Node (on its own JSDOMParser, the "
              "fastest way to run it, and on linkedom; jsdom, several times slower, is in the section above) and readability-lxml (Debian's "
              "python3-readability: `Document(html).summary()` and `.title()`) in-process from Python. "
              "One caller; a pass is every page of the corpus once; passes of the variants are interleaved "
              "and the ratio is the median over passes of the two variants' times in the same pass. Titles "
              "are checked against expected-metadata.json. Written by `bench/compare/article.sh` "
              "(docs/dev/compare-article-*.txt). The wasm engine's own speed is unchanged by the engine "
              "choice (its path gains one comparison before the pool lookup); no previous build was run "
              "beside it.\n")
    for c in comments(dev / "compare-article-node.txt") + comments(dev / "compare-article-python.txt"):
        md.append(f"- {c}")
    quality = {(q["lang"], q["variant"]): q for q in kv_lines(dev / "compare-article-node.txt", "quality") +
               kv_lines(dev / "compare-article-python.txt", "quality")}
    md.append("\n| from | variant | ms per page, all pages (range over passes) | time / peer's | "
              "time / daemon wasm's | title matches |")
    md.append("| --- | --- | --- | --- | --- | --- |")
    for lang, rows, peer in [("Node", node, "readability-jsdomparser"), ("Python", py, "readability-lxml")]:
        al = {r["variant"]: r for r in rows if r["set"] == "all"}
        for v, r in al.items():
            q = quality.get((lang.lower(), v))
            md.append(f"| {lang} | `{v}` | {ms(r['ns_op'])} ({ms(r['min_ns'])}–{ms(r['max_ns'])}) | "
                      f"{ratio(paired(r, al.get(peer), 'w'))} | {ratio(paired(r, al.get('grpc-article'), 'w'))} | "
                      f"{int(q['title_match'])}/{int(q['pages'])} |" if q else "— |")
        nat, p = al.get("grpc-article-native"), al.get(peer)
        if nat and p:
            x = paired(nat, p, "w")
            if lang == "Node":
                targets.append(("Node, 1 caller, every page: daemon article, native engine, ≤ 0.8x Readability.js "
                                "(JSDOMParser) in-process", f"{x:.2f}x", f"{paired(nat, p, 'c'):.2f}x", x <= 0.8))
            else:
                targets.append(("Python, 1 caller, every page: daemon article, native engine, faster than "
                                "readability-lxml in-process", f"{x:.2f}x", f"{paired(nat, p, 'c'):.2f}x", x < 1))
        base, w = al.get("grpc-article-base"), al.get("grpc-article")
        if base and w:
            x = paired(w, base, "w")
            targets.append((f"{lang}, 1 caller: daemon article, wasm engine, no slower than the previous build",
                            f"{x:.2f}x", f"{paired(w, base, 'c'):.2f}x", x <= 1.05))
    for q in quality.values():
        if q.get("miss") not in (None, "-"):
            md.append(f"\n{q['lang']} {q['variant']}: title differs from expected-metadata.json on {q['miss']}.")


def parse_gobench(path):
    """go test -bench lines -> {name: {unit: [values]}} (the -N suffix dropped)."""
    out = {}
    if not path.exists():
        return out
    for line in path.read_text().splitlines():
        if not line.startswith("Benchmark"):
            continue
        f = line.split()
        name = re.sub(r"-\d+$", "", f[0])
        vals = out.setdefault(name, {})
        for i in range(2, len(f) - 1, 2):
            try:
                vals.setdefault(f[i + 1], []).append(float(f[i]))
            except ValueError:
                pass
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--dev", default="docs/dev")
    ap.add_argument("--out", default="docs/COMPARE.md")
    ap.add_argument("--plot", default="docs/compare-concurrency.png")
    args = ap.parse_args()
    dev = pathlib.Path(args.dev)
    out = pathlib.Path(args.out)
    plot_rel = pathlib.Path(args.plot).relative_to(out.parent) if args.plot.startswith(str(out.parent)) else args.plot

    py = kv_lines(dev / "compare-python.txt", "row")
    nd = kv_lines(dev / "compare-node.txt", "row")
    ga = kv_lines(dev / "compare-go-articles.txt", "row")
    nq = kv_lines(dev / "compare-node.txt", "quality")
    gq = kv_lines(dev / "compare-go-articles.txt", "quality")
    sweep = kv_lines(dev / "compare-sweep.txt", "sweep")
    env = comments(dev / "compare-env.txt")
    cmds = (dev / "compare-commands.txt").read_text().splitlines() if (dev / "compare-commands.txt").exists() else []

    md = ["# riptide-poold against what users would pick instead", "",
          "<!-- Generated by bench/compare/run.sh (bench/compare/report.py): edit those, not this file. -->", "",
          "The same questions asked of the same pages (the readability corpus in `../shared/corpus/readability`: "
          "its median-sized page and all 65 pages) on the same machine in the same run, by each language's "
          "usual library in-process and by that same language calling the daemon over gRPC on 127.0.0.1. "
          "Figures are medians over interleaved rounds, so that load from elsewhere falls on every variant "
          "alike; read the ratios, not the absolute times.", ""]
    md += [f"- {e}" for e in env]
    answers = []
    for path in ["compare-python.txt", "compare-node.txt", "compare-go-articles.txt", "compare-sweep.txt",
                 "compare-go-parts.txt"]:
        for c in comments(dev / path):
            if c.startswith("answers "):
                answers.append((path[8:-4], c))
            else:
                md.append(f"- {c}")
    md.append("")
    if answers:
        md.append("Do they answer the same? Answers on the median page (first 60 characters of the title):\n")
        md.append("| from | variant | `title` | `a@href` | `p` | title |")
        md.append("| --- | --- | --- | --- | --- | --- |")
        for lang, a in answers:
            m = re.match(r"answers set=\S+ variant=(\S+) title=(\d+) a-href-all=(\d+) p-text-all=(\d+) title=(.*)$", a)
            if m:
                md.append(f"| {lang} | {m[1]} | {m[2]} | {m[3]} | {m[4]} | {m[5]} |")
        md.append("\nThe 11 links that lxml, BeautifulSoup and cheerio's htmlparser2 find beyond the daemon and "
                  "cheerio's parse5 are inside `<noscript>`, which an HTML5 parser with scripting enabled "
                  "(x/net/html, parse5, every browser) reads as text, and libxml2, html.parser and htmlparser2 "
                  "read as markup.\n")
    md.append("The questions a scraper asks: the text of `title` (first match), every `a@href`, and the "
              "text of every `p`, white space collapsed as the daemon does. A peer parses the page and "
              "answers; the daemon is sent the page and the question (`css`), or all three questions in "
              "one `fields` request answered from one parse.")

    targets = []

    # ---- Python.
    md.append("\n## Python: lxml and BeautifulSoup vs the daemon from Python\n")
    md.append("In-process: `lxml.html.document_fromstring` + `lxml.cssselect.CSSSelector` (compiled once); "
              "`BeautifulSoup(html, 'lxml')` and `BeautifulSoup(html, 'html.parser')` + `select`. "
              "Daemon: `PoolServiceStub.Extract` from grpcio with the stubs generated from the proto, "
              "one channel per caller. Each caller is a process (`multiprocessing`, spawn), so two callers "
              "are two interpreters, the peers' best case.")
    if py:
        R, res, cres = css_section(md, py, "python", ["lxml", "bs4-lxml", "bs4-html.parser"], "grpc-css", "lxml", "")
        for n, gm in sorted(res.items()):
            pl = "s" if n > 1 else ""
            targets.append((f"Python, {n} caller{pl}: daemon css time ≤ 1.0x lxml's",
                            f"{1 / gm['lxml']:.2f}x", f"{1 / cres[n]['lxml']:.2f}x", 1 / gm["lxml"] <= 1.0))
            for b in ["bs4-lxml", "bs4-html.parser"]:
                targets.append((f"Python, {n} caller{pl}: ≥ 5x faster than BeautifulSoup ({b[4:]})",
                                f"{gm[b]:.2f}x", f"{cres[n][b]:.2f}x", gm[b] >= 5))
    # ---- Node.
    md.append("\n## Node: cheerio vs the daemon from Node\n")
    md.append("In-process: `cheerio.load(html)` (parse5, the default) and "
              "`cheerio.load(html, { xml: { xmlMode: false } })` (htmlparser2 in HTML mode), then `$(sel)`. "
              "Daemon: `@grpc/grpc-js` with `@grpc/proto-loader`, one channel per caller. Each caller is a "
              "worker thread with its own event loop.")
    if nd:
        R, res, cres = css_section(md, [r for r in nd if r["q"] != "article"], "node",
                                   ["cheerio-parse5", "cheerio-htmlparser2"], "grpc-css", "cheerio-parse5", "")
        for n, gm in sorted(res.items()):
            g = gm["cheerio-parse5"]
            targets.append((f"Node, {n} caller{'s' if n > 1 else ''}: ≥ 3x faster than cheerio (parse5)",
                            f"{g:.2f}x", f"{cres[n]['cheerio-parse5']:.2f}x", g >= 3))

    # ---- Articles.
    md.append("\n## Articles: the WASM `article` module vs Readability.js and native Go\n")
    md.append("The daemon's `wasm` spec, module `article`, mode `article` (URL "
              "`http://fakehost/test/page.html`, as Readability.js' tests use), against Readability.js 0.6 "
              "(`new Readability(document).parse()`) on linkedom and on jsdom, from Node; and against "
              "codeberg.org/readeck/go-readability/v2 (the library the module is built on) and the module's own "
              "logic compiled natively, in one Go process with the gRPC call. ms per page, one caller; "
              "quality is the share of pages whose title equals expected-metadata.json's (white space "
              "normalized), and for the Go-side variants the median bag-of-words F1 of the text against "
              "expected.html (`internal/article/quality`).\n")
    AR = Rows([r for r in nd if r["q"] == "article"] + ga)
    ql = {(q.get("lang"), q["variant"]): q for q in nq + gq}
    md.append("| variant | where | median page (ms) | all pages (ms/page) | title matches | text F1 (median) | "
              "median page: time / daemon's |")
    md.append("| --- | --- | --- | --- | --- | --- | --- |")
    base_node = AR.ns("median", 1, "grpc-article", "article")
    go_base = next((r["ns_op"] for r in ga if r["variant"] == "grpc-article" and r["set"] == "median"), float("nan"))
    for lang, v, where in [("node", "readability-linkedom", "Node in-process"),
                           ("node", "readability-jsdom", "Node in-process"),
                           ("node", "grpc-article", "daemon WASM, from Node"),
                           ("go", "go-readability", "Go in-process"),
                           ("go", "article-native", "Go in-process"),
                           ("go", "grpc-article", "daemon WASM, from Go")]:
        rows = [r for r in (nd if lang == "node" else ga) if r["variant"] == v]
        med = next((r for r in rows if r["set"] == "median"), None)
        al = next((r for r in rows if r["set"] == "all"), None)
        q = ql.get((lang, v))
        base = base_node if lang == "node" else go_base
        md.append(" | ".join([
            f"| {v}", where,
            ms(med["ns_op"]) + spread(med) if med else "—",
            ms(al["ns_op"]) if al else "—",
            f"{int(q['title_match'])}/{int(q['pages'])}" if q else "—",
            f"{q['median_f1']:.4f}" if q and "median_f1" in q else "—",
            ratio(med["ns_op"] / base) if med else "—",
        ]) + " |")
    for q in nq:
        if q.get("miss") not in (None, "-"):
            md.append(f"\n{q['variant']}: title differs from expected-metadata.json on {q['miss']}.")
    for r in [r for r in nd + ga if r["variant"] == "grpc-article" and r["set"] == "median"]:
        md.append(f"\nDaemon article from {r['lang']}: wall {ms(r['ns_op'])} ms = client CPU {ms(r['client_cpu_ns'])} "
                  f"+ daemon CPU {ms(r['daemon_cpu_ns'])} ms per page.")

    article_engines(md, dev, targets)

    # ---- Go floor.
    gs = parse_gobench(dev / "compare-go-server.txt")
    md.append("\n## Go: the floor (gRPC vs in-process, one Go process)\n")
    md.append("`internal/server` BenchmarkExtractCorpus, run in this session (see docs/BENCHMARKS.md for what each "
              "path is): the cost of calling the daemon rather than parsing with x/net/html + cascadia in the "
              "caller's own Go process; medians over `-count` runs.\n")
    if gs:
        md.append("In-process is the same work as the daemon's (`Select`: the token stream where it can answer, "
                  "else the tree); in-process tree always parses (x/net/html + cascadia), as a Go program "
                  "without the daemon would. The ratios are each path's time over in-process.\n")
        md.append("| question | in-process (ms) | in-process, tree (ms) | handler | grpc-bufconn | grpc-loopback | grpc-unix "
                  "| loopback CPU / in-process CPU | grpc-loopback / in-process tree |")
        md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        loop, looptree = [], []
        for q in QS:
            base = gs.get(f"BenchmarkExtractCorpus/spec={q}/path=inprocess", {})
            b = statistics.median(base.get("ns/op", [float("nan")]))
            bc = statistics.median(base.get("cpu-ns/op", [float("nan")]))
            bt = statistics.median(gs.get(f"BenchmarkExtractCorpus/spec={q}/path=inprocess-tree", {}).get("ns/op", [float("nan")]))
            cells = []
            for p in ["handler", "grpc-bufconn", "grpc-loopback", "grpc-unix"]:
                v = gs.get(f"BenchmarkExtractCorpus/spec={q}/path={p}", {})
                cells.append(ratio(statistics.median(v.get("ns/op", [float("nan")])) / b))
            lc = statistics.median(gs.get(f"BenchmarkExtractCorpus/spec={q}/path=grpc-loopback", {}).get("cpu-ns/op", [float("nan")]))
            lw = statistics.median(gs.get(f"BenchmarkExtractCorpus/spec={q}/path=grpc-loopback", {}).get("ns/op", [float("nan")]))
            loop.append(lw / b)
            looptree.append(lw / bt)
            md.append(f"| {QNAME[q]} | {ms(b)} | {ms(bt)} | " + " | ".join(cells) + f" | {ratio(lc / bc)} | {ratio(lw / bt)} |")
        md.append(f"\nGeomean, grpc-loopback over in-process: **{ratio(geomean(loop))}**; over in-process tree: "
                  f"**{ratio(geomean(looptree))}**.")
    parts = kv_lines(dev / "compare-go-parts.txt", "part")
    if parts:
        md.append("\nThe parts of one css call (every `a@href` of the median page), timed alone in one Go process "
                  "(`gocompare parts`), ms; the daemon does `proto-unmarshal` and `parse+select`, a Go client "
                  "`proto-marshal`, and each side's gRPC transport comes on top:\n")
        md.append("| " + " | ".join(p["step"] for p in parts) + " |")
        md.append("|" + " --- |" * len(parts))
        md.append("| " + " | ".join(ms(p["ns_op"]) + spread(p) for p in parts) + " |")
    ab = parse_gobench(dev / "compare-go-article.txt")
    if ab:
        md.append("\n`internal/article` BenchmarkExtract (native, in-process), ms per page:\n")
        md.append("| set | parse=xnethtml (the module's logic) | parse=library | readability-only (go-readability) |")
        md.append("| --- | --- | --- | --- |")
        for s in ["median", "all"]:
            cells = []
            for w in ["parse=xnethtml", "parse=library", "readability-only"]:
                v = ab.get(f"BenchmarkExtract/page={s}/{w}", {}).get("ns/page")
                cells.append(ms(statistics.median(v)) if v else "—")
            md.append(f"| {s} | " + " | ".join(cells) + " |")

    # ---- Concurrency.
    md.append("\n## Latency and throughput against concurrency\n")
    md.append("`gocompare sweep`: N goroutines in one Go client process share one connection and make back-to-back "
              "css Extract calls (every `a@href` of the median page) for a fixed time at each N. Client and daemon "
              "share the machine's cores.\n")
    md.append(f"![css Extract latency and throughput against concurrency]({plot_rel})\n")
    if sweep:
        md.append("| callers | calls/s | p50 (ms) | p90 (ms) | p99 (ms) | errors |")
        md.append("| --- | --- | --- | --- | --- | --- |")
        for s in sweep:
            md.append(f"| {int(s['callers'])} | {s['rps']:.0f} | {ms(s['p50_ns'])} | {ms(s['p90_ns'])} | {ms(s['p99_ns'])} | {int(s['errors'])} |")

    # ---- Garbage collector settings.
    gcr = kv_lines(dev / "compare-gc.txt", "gc")
    gcm = kv_lines(dev / "compare-gc.txt", "gcmem")
    if gcr:
        unq = lambda v: str(v).strip('"')
        md.append("\n## Garbage collector settings\n")
        md.append("`gocompare gc`: one daemon per setting, all started at once with the defaults plus that setting, "
                  "then loaded in turn, in an order that rotates from round to round, with back-to-back css Extract "
                  "calls (every `a@href`) from N goroutines sharing one connection: on the median page, and cycling "
                  "through all 65 pages (`mix`, up to 1.8 MB a page). Daemon CPU per call is the daemon's user + "
                  "system time over the calls answered; the collector's own CPU per call and its cycles per 1,000 "
                  "calls come from the daemon's `GODEBUG=gctrace=1` lines (stop-the-world phases, assists and "
                  "background marking; marking in otherwise idle time left out), and are the steadiest figures "
                  "here, since they do not move with load from elsewhere. The ratios are medians over rounds of the "
                  "ratio to the first setting within the same round. " +
                  " ".join(comments(dev / "compare-gc.txt")) + "\n")
        md.append("| setting | pages | callers | calls/s | p50 (ms) | p99 (ms) | daemon CPU per call (ms) "
                  "| GC CPU per call (ms) | GC cycles per 1,000 calls | CPU per call / first's | calls/s / first's |")
        md.append("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
        for r in gcr:
            md.append(f"| `{unq(r['variant'])}` | {r['set']} | {int(r['callers'])} | {r['rps']:.0f} | {ms(r['p50_ns'])} "
                      f"| {ms(r['p99_ns'])} | {ms(r['cpu_ns_call'])} | {ms(r.get('gc_cpu_ns_call', float('nan')))} "
                      f"| {r.get('gc_per_1000', float('nan')):.1f} | {r['cpu_ratio']:.2f}x | {r['rps_ratio']:.2f}x |")
        if gcm:
            md.append("\nThe daemons' memory (MiB): resident, the peak over the whole run (VmHWM) and at its end, "
                      "and the largest heap goal the collector set (gctrace).\n")
            md.append("| setting | peak RSS | RSS at the end | largest heap goal |")
            md.append("| --- | --- | --- | --- |")
            for r in gcm:
                md.append(f"| `{unq(r['variant'])}` | {r['peak_rss_kb'] / 1024:.0f} | {r['rss_kb'] / 1024:.0f} "
                          f"| {r.get('heap_goal_max_mb', float('nan')):.0f} |")

    # ---- Targets.
    tmd = ["\n## Targets (issue 8)\n",
           "Median page, geomean of the three questions (one parse each), the daemon's `css` call against the "
           "peer. Judged on wall time, as a caller feels it; CPU time (caller plus daemon) is shown beside it "
           "because it is the steadier figure on a shared machine.\n",
           "| target | wall | CPU | |", "| --- | --- | --- | --- |"]
    tmd += [f"| {t} | {m} | {c} | {'met' if ok else '**missed**'} |" for t, m, c, ok in targets]
    intro_end = next(i for i, l in enumerate(md) if l.startswith("\n## Python"))
    md[intro_end:intro_end] = tmd

    analysis = HERE / "analysis.md"
    if analysis.exists():
        md.append("\n" + analysis.read_text().rstrip())

    md.append("\n## Regenerate\n")
    md.append("`bench/compare/run.sh` runs all of this and rewrites this file, the plot and "
              "`docs/dev/compare-*.txt` (the raw outputs). It ran these commands, from the repo root (`$WORK` is a "
              "temporary directory, `$CORPUS` the corpus" +
              ("; this run measured a `git archive` export of the commit named at the top, built and "
               "benchmarked in its own directory through `RIPTIDE_SRC`" if any("git archive" in e for e in env) else "") +
              "):\n")
    md.append("```sh")
    md += cmds
    md.append("```")
    out.write_text("\n".join(md) + "\n")


if __name__ == "__main__":
    main()
