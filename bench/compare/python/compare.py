#!/usr/bin/env python3
"""Python peers of riptide-poold against the daemon, same pages, same run.

    python3 compare.py --addr 127.0.0.1:50051 --corpus DIR [--daemon-pid PID]

Asks the questions a scraper asks -- the text of `title`, every `a@href`,
the text of every `p` -- of the readability corpus' median-sized page and of
all its pages, in-process with lxml + cssselect and BeautifulSoup (lxml and
html.parser), and from this same Python over gRPC (grpcio) to the daemon.

Every caller is a worker process (multiprocessing "spawn"), so that N
callers are N interpreters with no shared GIL: the peers' best case. Each
worker has its own gRPC channel. A measurement starts the workers at a
barrier and divides the wall time from the first start to the last end by
the calls made. Variants are interleaved round by round, so that load from
elsewhere on the machine falls on all of them alike; a figure is the median
over rounds.

Output: one line per measurement, key=value, read by report.py:

    row lang=python set=median callers=1 variant=lxml q=title ns_op=... ...
"""

import argparse
import multiprocessing as mp
import os
import pathlib
import statistics
import sys
import time

HERE = pathlib.Path(__file__).resolve().parent
REPO = HERE.parents[2]

# The three questions, as (name, selector, attribute, all).
QUESTIONS = [
    ("title", "title", "", False),
    ("a-href-all", "a", "href", True),
    ("p-text-all", "p", "", True),
]


def norm(s):
    """Collapses white space as the daemon's CSS text output does."""
    return " ".join(s.split())


def load_pages(corpus):
    """The corpus pages as (name, html), sorted by size then name, as the Go
    benchmarks sort them; the median page is pages[len(pages) // 2]."""
    pages = []
    for src in sorted(pathlib.Path(corpus).glob("*/source.html")):
        raw = src.read_bytes()
        pages.append((src.parent.name, len(raw), raw.decode("utf-8")))
    pages.sort(key=lambda p: (p[1], p[0]))
    return [(name, html) for name, _, html in pages]


# ---- peers: one function per library, answering one question or all three.


class Lxml:
    """lxml.html + cssselect, selectors compiled once (as the daemon caches)."""

    def __init__(self):
        import lxml.html
        from lxml.cssselect import CSSSelector

        self.parse = lxml.html.document_fromstring
        self.sel = {name: CSSSelector(sel) for name, sel, _, _ in QUESTIONS}

    def ask(self, root, q):
        name, _, attr, every = q
        found = self.sel[name](root)
        if not every:
            found = found[:1]
        if attr:
            return [v for v in (e.get(attr) for e in found) if v is not None]
        return [norm(e.text_content()) for e in found]


class Soup:
    """BeautifulSoup with the given tree builder; CSS through soupsieve."""

    def __init__(self, builder):
        from bs4 import BeautifulSoup

        self.builder = builder
        self.bs = BeautifulSoup

    def parse(self, html):
        return self.bs(html, self.builder)

    def ask(self, soup, q):
        _, sel, attr, every = q
        found = soup.select(sel) if every else [e for e in [soup.select_one(sel)] if e is not None]
        if attr:
            return [v for v in (e.get(attr) for e in found) if v is not None]
        return [norm(e.get_text()) for e in found]


def peer_variant(lib, questions):
    """One call: parse, then answer questions from that one parse."""

    def run(html):
        root = lib.parse(html)
        return [lib.ask(root, q) for q in questions]

    return run


# ---- the daemon, over gRPC.


def load_stubs():
    sys.path.insert(0, str(REPO / "examples" / "python"))
    from riptide_client import load_stubs as ls  # generates from the proto

    return ls()


class Daemon:
    def __init__(self, addr):
        import grpc

        self.pb, rpc = load_stubs()
        self.channel = grpc.insecure_channel(
            addr,
            options=[("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)],
        )
        grpc.channel_ready_future(self.channel).result(timeout=30)
        self.stub = rpc.PoolServiceStub(self.channel)

    def css(self, q):
        _, sel, attr, every = q
        return self.pb.CssSpec(selector=sel, attribute=attr, all=every)

    def one(self, q):
        def run(html):
            return [list(self.stub.Extract(self.pb.ExtractRequest(html=html, css=self.css(q))).values)]

        return run

    def each(self, questions):
        """One Extract call per question: a parse each."""
        def run(html):
            return [
                list(self.stub.Extract(self.pb.ExtractRequest(html=html, css=self.css(q))).values)
                for q in questions
            ]

        return run

    def fields(self, questions):
        """One Extract call with a FieldsSpec: one parse answers all."""
        spec = self.pb.FieldsSpec(
            fields={q[0]: self.pb.FieldSpec(css=self.css(q)) for q in questions}
        )

        def run(html):
            resp = self.stub.Extract(self.pb.ExtractRequest(html=html, fields=spec))
            return [list(resp.fields[q[0]].values) for q in questions]

        return run


def variants(addr):
    """Variant name -> question name -> function(html) -> answers.
    Question "all" answers the three; per-question entries answer one."""
    lx, sl, sp = Lxml(), Soup("lxml"), Soup("html.parser")
    d = Daemon(addr)
    out = {}
    for name, lib in [("lxml", lx), ("bs4-lxml", sl), ("bs4-html.parser", sp)]:
        out[name] = {q[0]: peer_variant(lib, [q]) for q in QUESTIONS}
        out[name]["all"] = peer_variant(lib, QUESTIONS)
    out["grpc-css"] = {q[0]: d.one(q) for q in QUESTIONS}
    out["grpc-css"]["all"] = d.each(QUESTIONS)
    out["grpc-fields"] = {"all": d.fields(QUESTIONS)}
    return out


# ---- workers.


def worker(conn, barrier, addr, corpus):
    pages = load_pages(corpus)
    sets = {"median": [pages[len(pages) // 2][1]], "all": [h for _, h in pages]}
    vs = variants(addr)
    conn.send("ready")
    while True:
        msg = conn.recv()
        if msg is None:
            return
        kind, variant, q, set_name, iters = msg
        fn, docs = vs[variant][q], sets[set_name]
        if kind == "answers":
            conn.send([fn(h) for h in docs])
            continue
        barrier.wait()
        c0, t0 = time.process_time(), time.perf_counter()
        for _ in range(iters):
            for h in docs:
                fn(h)
        t1, c1 = time.perf_counter(), time.process_time()
        conn.send((t0, t1, c1 - c0, len(docs)))


class Workers:
    def __init__(self, n, addr, corpus):
        ctx = mp.get_context("spawn")
        self.barrier = ctx.Barrier(n)
        self.conns, self.procs = [], []
        for _ in range(n):
            parent, child = ctx.Pipe()
            p = ctx.Process(target=worker, args=(child, self.barrier, addr, corpus), daemon=True)
            p.start()
            self.conns.append(parent)
            self.procs.append(p)
        for c in self.conns:
            assert c.recv() == "ready"

    def run(self, variant, q, set_name, iters):
        """Runs iters passes on every worker at once; returns the wall time,
        the workers' CPU time (seconds) and the number of calls made."""
        for c in self.conns:
            c.send(("run", variant, q, set_name, iters))
        res = [c.recv() for c in self.conns]
        wall = max(r[1] for r in res) - min(r[0] for r in res)
        return wall, sum(r[2] for r in res), sum(iters * r[3] for r in res)

    def answers(self, variant, q, set_name):
        self.conns[0].send(("answers", variant, q, set_name, 0))
        return self.conns[0].recv()

    def close(self):
        for c in self.conns:
            c.send(None)
        for p in self.procs:
            p.join(10)


def daemon_cpu(pid):
    """The daemon's CPU time so far, in seconds (0 when pid is unknown)."""
    if not pid:
        return 0.0
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def plan():
    """(set, variant, question) measured at each caller count."""
    out = []
    for q in [q[0] for q in QUESTIONS] + ["all"]:
        for v in ["lxml", "bs4-lxml", "bs4-html.parser", "grpc-css"]:
            out.append(("median", v, q))
        if q == "all":
            out.append(("median", "grpc-fields", q))
    for v in ["lxml", "bs4-lxml", "bs4-html.parser", "grpc-css", "grpc-fields"]:
        out.append(("all", v, "all"))
    return out


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--daemon-pid", type=int, default=0)
    ap.add_argument("--callers", default="1,2", help="caller counts, comma-separated")
    ap.add_argument("--rounds", type=int, default=5, help="rounds on the median page")
    ap.add_argument("--rounds-all", type=int, default=3, help="rounds on all pages")
    ap.add_argument("--target", type=float, default=0.3, help="seconds per measurement on the median page")
    args = ap.parse_args()

    pages = load_pages(args.corpus)
    name, html = pages[len(pages) // 2]
    total = sum(len(h.encode()) for _, h in pages)
    print(f"# python {sys.version.split()[0]}; median page {name}, {len(html.encode())} bytes; "
          f"all: {len(pages)} pages, {total} bytes; cores {os.cpu_count()}")
    import bs4, cssselect, grpc, lxml.etree
    from google.protobuf.internal import api_implementation
    print(f"# lxml {'.'.join(map(str, lxml.etree.LXML_VERSION))} (libxml2 "
          f"{'.'.join(map(str, lxml.etree.LIBXML_VERSION))}), cssselect {cssselect.__version__}, "
          f"bs4 {bs4.__version__}, grpcio {grpc.__version__}, protobuf {api_implementation.Type()}")
    sys.stdout.flush()

    for n in [int(x) for x in args.callers.split(",")]:
        ws = Workers(n, args.addr, args.corpus)
        try:
            if n == 1:
                check_answers(ws)
            measure(ws, n, args)
        finally:
            ws.close()


def check_answers(ws):
    """Prints how many answers each variant gives, so that a reader can see
    they answer the same questions (text details may differ by library)."""
    for set_name in ["median"]:
        for v in ["lxml", "bs4-lxml", "bs4-html.parser", "grpc-css", "grpc-fields"]:
            ans = ws.answers(v, "all", set_name)[0]
            counts = " ".join(f"{q[0]}={len(a)}" for q, a in zip(QUESTIONS, ans))
            title = ans[0][0] if ans[0] else ""
            print(f"# answers set={set_name} variant={v} {counts} title={title[:60]!r}")
    sys.stdout.flush()


def measure(ws, n, args):
    items = plan()
    # Warm up and calibrate: double the passes until one run takes a
    # quarter of a second, then size a measurement to about target seconds
    # on the median page; one pass per round on all pages.
    iters = {}
    for s, v, q in items:
        if s == "all":
            iters[(s, v, q)] = 1
            continue
        it = 1
        while True:
            wall, _, _ = ws.run(v, q, s, it)
            if wall >= 0.25 or it >= 1 << 14:
                break
            it *= 2
        iters[(s, v, q)] = max(5, round(args.target * it / max(wall, 1e-6)))
    samples = {k: [] for k in items}
    for rnd in range(max(args.rounds, args.rounds_all)):
        for k in items:
            s, v, q = k
            if rnd >= (args.rounds if s == "median" else args.rounds_all):
                continue
            d0 = daemon_cpu(args.daemon_pid)
            wall, cpu, calls = ws.run(v, q, s, iters[k])
            d1 = daemon_cpu(args.daemon_pid)
            # Per call and caller: wall time / calls is the time per page
            # the machine as a whole achieves.
            samples[k].append((wall / calls, cpu / calls, (d1 - d0) / calls, calls))
    for k in items:
        s, v, q = k
        if not samples[k]:
            continue
        w = [x[0] for x in samples[k]]
        med = statistics.median(w)
        cpu = statistics.median(x[1] for x in samples[k])
        grpc = v.startswith("grpc")
        dcpu = statistics.median(x[2] for x in samples[k]) if grpc else 0.0
        # Per round: wall ns per call, and CPU ns per call of the caller
        # plus (for the daemon) the daemon's, for paired ratios.
        ws_ = ",".join(f"{x[0] * 1e9:.0f}" for x in samples[k])
        cs_ = ",".join(f"{(x[1] + (x[2] if grpc else 0)) * 1e9:.0f}" for x in samples[k])
        print(f"row lang=python set={s} callers={n} variant={v} q={q} ns_op={med * 1e9:.0f} "
              f"min_ns={min(w) * 1e9:.0f} max_ns={max(w) * 1e9:.0f} client_cpu_ns={cpu * 1e9:.0f} "
              f"daemon_cpu_ns={dcpu * 1e9:.0f} rounds={len(w)} calls={samples[k][0][3]} w={ws_} c={cs_}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
