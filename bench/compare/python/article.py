"""Articles from Python: readability-lxml in-process against the daemon's
bundled `article` module on each engine, same pages, same run.

    /usr/bin/python3 article.py --addr HOST:PORT --native-addr HOST:PORT --corpus DIR

One caller. The peer is readability-lxml (Debian's python3-readability):
Document(html).summary() for the main content and .title(); the daemon
answers both in one Extract (wasm spec, module `article`, mode `article`):
--addr is a daemon with ARTICLE_ENGINE=wasm (the default), --native-addr one
with ARTICLE_ENGINE=native. A pass is every page of the corpus once;
variants are interleaved pass by pass, and a figure is the median over
passes. Each variant's titles are also checked against the corpus'
expected-metadata.json.

Output: key=value lines, the format of compare.py, read by report.py.
"""

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from compare import Daemon, daemon_cpu, load_pages, norm  # noqa: E402

import json  # noqa: E402
import pathlib  # noqa: E402

PAGE_URL = "http://fakehost/test/page.html"


def readability_lxml():
    from readability import Document

    def run(html):
        doc = Document(html, url=PAGE_URL)
        doc.summary()  # the main content, the work of the comparison
        return doc.title()

    return run


def grpc_article(addr):
    d = Daemon(addr)
    spec = d.pb.WasmSpec(module="article", mode="article")

    def run(html):
        resp = d.stub.Extract(d.pb.ExtractRequest(html=html, url=PAGE_URL, wasm=spec))
        return resp.result.fields["title"].string_value

    return run


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--addr", required=True)
    ap.add_argument("--native-addr", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--daemon-pid", type=int, default=0)
    ap.add_argument("--native-daemon-pid", type=int, default=0)
    ap.add_argument("--rounds", type=int, default=5, help="passes over every page")
    args = ap.parse_args()

    pages = []
    for name, html in load_pages(args.corpus):
        meta = json.loads((pathlib.Path(args.corpus) / name / "expected-metadata.json").read_text("utf-8"))
        pages.append({"name": name, "html": html, "title": meta.get("title") or ""})
    import readability

    version = getattr(readability, "__version__", "")
    if not version:
        try:
            from importlib.metadata import version as dist_version

            version = dist_version("readability-lxml")
        except Exception:  # noqa: BLE001 - the version is only reported
            version = "unknown"
    print(f"# python {sys.version.split()[0]}; readability-lxml {version}; {len(pages)} pages, "
          f"{sum(len(p['html'].encode()) for p in pages)} bytes")
    variants = {
        "readability-lxml": (readability_lxml(), 0),
        "grpc-article": (grpc_article(args.addr), args.daemon_pid),
        "grpc-article-native": (grpc_article(args.native_addr), args.native_daemon_pid),
    }
    htmls = [p["html"] for p in pages]
    # Quality, and a warm-up pass for each.
    for name, (fn, _) in variants.items():
        miss = [p["name"] for p in pages if norm(fn(p["html"])) != norm(p["title"])]
        print(f"quality lang=python variant={name} title_match={len(pages) - len(miss)} pages={len(pages)} "
              f"miss={','.join(miss) or '-'}")
    samples = {name: [] for name in variants}
    for _ in range(args.rounds):
        for name, (fn, pid) in variants.items():
            d0, c0, t0 = daemon_cpu(pid), time.process_time(), time.perf_counter()
            for h in htmls:
                fn(h)
            t1, c1, d1 = time.perf_counter(), time.process_time(), daemon_cpu(pid)
            n = len(htmls)
            samples[name].append(((t1 - t0) / n * 1e9, (c1 - c0) / n * 1e9, (d1 - d0) / n * 1e9))
    for name, s in samples.items():
        w = [x[0] for x in s]
        print(f"row lang=python set=all callers=1 variant={name} q=article ns_op={statistics.median(w):.0f} "
              f"min_ns={min(w):.0f} max_ns={max(w):.0f} client_cpu_ns={statistics.median(x[1] for x in s):.0f} "
              f"daemon_cpu_ns={statistics.median(x[2] for x in s):.0f} rounds={len(s)} calls={len(htmls)} "
              f"w={','.join(f'{x:.0f}' for x in w)} c={','.join(f'{x[1] + x[2]:.0f}' for x in s)}")


if __name__ == "__main__":
    main()
