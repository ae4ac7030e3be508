#!/usr/bin/python3
"""XPath and structured data, from Python: the daemon over gRPC against
lxml's XPath and extruct in-process (issue 18's rows of docs/COMPARE.md).

    python3 xpath_structured.py --addr 127.0.0.1:50051 --corpus DIR [--rounds 15] [--only WORD]
    python3 xpath_structured.py --addr 127.0.0.1:50051 --corpus DIR --breakdown

DIR is the readability corpus. Each round times every variant on the
median page (many iterations) and on all pages (one pass), variants
interleaved so that load from elsewhere falls on all alike; a row reports
the median over rounds of each variant's time and of the ratio of the
peer's time to the daemon's within a round (above 1: the daemon is
faster). A peer parses the page and answers, as a caller without the
daemon would: lxml.html.document_fromstring then .xpath(expr) (libxml2's
XPath 1.0 in C); extruct.extract(html, base_url, syntaxes=[json-ld,
microdata, opengraph], uniform=False), and with syntaxes=[rdfa] alone
(pyRdfa and rdflib) against the daemon's rdfa, and syntaxes=[microformat]
alone (mf2py over BeautifulSoup) against the daemon's microformat; and
each one's default call, the one a user moving from extruct makes:
extruct.extract(html, base_url) (microdata, opengraph, json-ld,
microformat, rdfa, dublincore) against a structured spec that names no
syntax (json-ld, microdata, opengraph, rdfa, microformat, twitter, meta:
the meta pairs hold Dublin Core's). The daemon is sent the page
and the question. The structured rows come twice: with the page as a str
(the daemon's html field, which the Python client encodes to UTF-8 for
every call) and as the bytes a crawler holds (Scrapy's response.body;
extruct.extract takes those too, and reads them as UTF-8; the daemon's
raw_html field carries them as they are, with the response's
Content-Type). --breakdown splits the daemon's time on all pages (bytes):
65 tiny requests (the client's and gRPC's floor), the pages with a css
question answered at <title> (adding the pages' transport), the
structured question, and the daemon's own timing of it. Needs Debian's python3-lxml, python3-extruct, python3-grpcio,
python3-grpc-tools. Not yet part of run.sh.
"""

import argparse
import pathlib
import statistics
import sys
import time

REPO = pathlib.Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "clients" / "python" / "src"))

XPATHS = ["//a/@href", "count(//p)", "string(//title)"]
SYNTAXES = ["json-ld", "microdata", "opengraph"]
URL = "http://fakehost/test/page.html"


def load_pages(corpus):
    pages = []
    for d in sorted(pathlib.Path(corpus).iterdir()):
        f = d / "source.html"
        if f.exists():
            pages.append((d.name, f.read_text(encoding="utf-8", errors="replace")))
    pages.sort(key=lambda p: len(p[1]))
    return pages


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--addr", required=True)
    ap.add_argument("--corpus", required=True)
    ap.add_argument("--rounds", type=int, default=15)
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--only", default="", help="run only the rows whose label holds this")
    ap.add_argument("--breakdown", action="store_true", help="split the daemon's time instead")
    ap.add_argument("--xpath", action="append", default=[], help="an XPath question to ask instead of the default three (repeatable)")
    args = ap.parse_args()

    import extruct
    import grpc
    import lxml.html
    from riptide_poold._pb import pool_pb2 as pb
    from riptide_poold._pb import pool_pb2_grpc as rpc

    ch = grpc.insecure_channel(args.addr, options=[("grpc.max_send_message_length", -1), ("grpc.max_receive_message_length", -1)])
    grpc.channel_ready_future(ch).result(timeout=30)
    stub = rpc.PoolServiceStub(ch)

    pages = load_pages(args.corpus)
    name, median = pages[len(pages) // 2]
    every = [html for _, html in pages]
    median_bytes = median.encode("utf-8")
    every_bytes = [html.encode("utf-8") for html in every]

    def lxml_xpath(expr):
        return lambda html: lxml.html.document_fromstring(html).xpath(expr)

    def daemon_xpath(expr):
        spec = pb.XpathSpec(expression=expr, all=True)
        return lambda html: stub.Extract(pb.ExtractRequest(html=html, xpath=spec))

    def extruct_run(html):
        return extruct.extract(html, base_url=URL, syntaxes=SYNTAXES, uniform=False, errors="ignore")

    spec = pb.StructuredSpec(syntaxes=SYNTAXES)

    def daemon_structured(html):
        return stub.Extract(pb.ExtractRequest(html=html, url=URL, structured=spec))

    def extruct_rdfa(html):
        return extruct.extract(html, base_url=URL, syntaxes=["rdfa"], uniform=False, errors="ignore")

    def daemon_structured_bytes(body):
        # The charset a crawler has from the response's Content-Type (the
        # corpus files are UTF-8 whatever their <meta charset> says).
        return stub.Extract(pb.ExtractRequest(raw_html=body, content_type="text/html; charset=utf-8",
                                              url=URL, structured=spec))

    rdfa_spec = pb.StructuredSpec(syntaxes=["rdfa"])

    def daemon_rdfa(html):
        return stub.Extract(pb.ExtractRequest(html=html, url=URL, structured=rdfa_spec))

    def extruct_microformat(html):
        return extruct.extract(html, base_url=URL, syntaxes=["microformat"], uniform=False, errors="ignore")

    microformat_spec = pb.StructuredSpec(syntaxes=["microformat"])

    def daemon_microformat(html):
        return stub.Extract(pb.ExtractRequest(html=html, url=URL, structured=microformat_spec))

    def extruct_default(html):
        return extruct.extract(html, base_url=URL, uniform=False, errors="ignore")

    default_spec = pb.StructuredSpec()

    def daemon_default(html):
        return stub.Extract(pb.ExtractRequest(html=html, url=URL, structured=default_spec))

    def daemon_default_bytes(body):
        return stub.Extract(pb.ExtractRequest(raw_html=body, content_type="text/html; charset=utf-8",
                                              url=URL, structured=default_spec))

    if args.breakdown:
        breakdown(stub, pb, every_bytes, spec, args.rounds)
        return

    # Each row: label, peer, daemon, peer's name, and whether both are
    # given the page as bytes.
    rows = [("xpath `%s`" % e, lxml_xpath(e), daemon_xpath(e), "lxml", False) for e in args.xpath or XPATHS]
    rows.append(("structured (json-ld, microdata, opengraph)", extruct_run, daemon_structured, "extruct", False))
    rows.append(("structured (json-ld, microdata, opengraph), bytes", extruct_run, daemon_structured_bytes, "extruct", True))
    rows.append(("structured (rdfa)", extruct_rdfa, daemon_rdfa, "extruct", False))
    rows.append(("structured (microformat)", extruct_microformat, daemon_microformat, "extruct", False))
    rows.append(("structured (default: every syntax)", extruct_default, daemon_default, "extruct", False))
    rows.append(("structured (default: every syntax), bytes", extruct_default, daemon_default_bytes, "extruct", True))

    rows = [r for r in rows if args.only in r[0]]

    # Warm up every variant (and check the daemon answers).
    for _, peer, daemon, _, as_bytes in rows:
        page = median_bytes if as_bytes else median
        peer(page)
        daemon(page)

    def timed(fn, docs, iters):
        t = time.perf_counter()
        for _ in range(iters):
            for d in docs:
                fn(d)
        return (time.perf_counter() - t) / iters

    results = {}
    for _ in range(args.rounds):
        for label, peer, daemon, _, as_bytes in rows:
            sets = (("median", [median_bytes], args.iters), ("all", every_bytes, 1)) if as_bytes else \
                (("median", [median], args.iters), ("all", every, 1))
            for set_name, docs, iters in sets:
                p = timed(peer, docs, iters)
                d = timed(daemon, docs, iters)
                r = results.setdefault((label, set_name), {"peer": [], "daemon": [], "ratio": []})
                r["peer"].append(p)
                r["daemon"].append(d)
                r["ratio"].append(p / d)

    print("python %s; lxml %s; extruct 0.14.0; median page %s, %d bytes; all: %d pages, %d bytes; %d rounds"
          % (sys.version.split()[0], ".".join(map(str, lxml.etree.LXML_VERSION)), name, len(median.encode()),
             len(every), sum(len(h.encode()) for h in every), args.rounds))
    print()
    print("| question | pages | peer | peer ms | daemon ms | peer / daemon |")
    print("| --- | --- | --- | --- | --- | --- |")
    for label, _, _, peer_name, _ in rows:
        for set_name in ("median", "all"):
            r = results[(label, set_name)]
            print("| %s | %s | %s | %.2f | %.2f | %.2fx |" % (
                label, set_name, peer_name, statistics.median(r["peer"]) * 1e3,
                statistics.median(r["daemon"]) * 1e3, statistics.median(r["ratio"])))


def breakdown(stub, pb, pages, spec, rounds):
    ct = "text/html; charset=utf-8"

    def run(fn):
        times = []
        for _ in range(rounds):
            t = time.perf_counter()
            for body in pages:
                fn(body)
            times.append(time.perf_counter() - t)
        return statistics.median(times) * 1e3

    tiny = run(lambda body: stub.Extract(pb.ExtractRequest(raw_html=b"<p>x", content_type=ct, url=URL, structured=spec)))
    title = run(lambda body: stub.Extract(pb.ExtractRequest(raw_html=body, content_type=ct, url=URL,
                                                            css=pb.CssSpec(selector="title"))))
    structured = run(lambda body: stub.Extract(pb.ExtractRequest(raw_html=body, content_type=ct, url=URL,
                                                                 structured=spec)))
    total = extraction = 0
    for body in pages:
        r = stub.Extract(pb.ExtractRequest(raw_html=body, content_type=ct, url=URL, structured=spec))
        total += r.timing.total.ToNanoseconds()
        extraction += r.timing.extraction.ToNanoseconds()
    print("all %d pages as bytes, median of %d passes, ms: %d tiny requests %.1f; css title %.1f; "
          "structured %.1f (daemon's timing: total %.1f, extraction %.1f)"
          % (len(pages), rounds, len(pages), tiny, title, structured, total / 1e6, extraction / 1e6))


if __name__ == "__main__":
    main()
