#!/usr/bin/env python3
"""A riptide-poold client in Python: extract a page's title and links,
lease an instance and extract on it, read an article with the WASM module,
and subscribe to pool events.

    python3 riptide_client.py --addr 127.0.0.1:50051 [--check]

It needs grpcio and grpcio-tools (Debian: python3-grpcio python3-grpc-tools).
The stubs are generated from proto/riptide/pool/v1/pool.proto on first run,
into a temporary directory, so they always match the API.

RPCs the daemon does not implement yet answer UNIMPLEMENTED; each such step
prints "SKIP" and the program goes on. Any other error fails it (exit 1).
"""

import argparse
import importlib
import os
import pathlib
import sys
import tempfile
import threading
from urllib.parse import urljoin

import grpc

REPO = pathlib.Path(__file__).resolve().parents[2]
PROTO_ROOT = REPO / "proto"
PROTO = "riptide/pool/v1/pool.proto"

PAGE = """<!doctype html>
<html><head><title>Tide tables</title></head>
<body><h1>Tide tables</h1>
<p>High water at 06:12 and 18:40.</p>
<a href="/north">North shore</a> <a href="south.html">South shore</a>
<a href="https://example.org/charts">Charts</a>
</body></html>"""
PAGE_URL = "https://tides.example.com/today/"


class Skip(Exception):
    """An RPC the daemon does not implement yet."""


def load_stubs():
    """Generates the Python stubs from the proto and imports them."""
    from grpc_tools import protoc

    out = tempfile.mkdtemp(prefix="riptide-stubs-")
    wkt = pathlib.Path(protoc.__file__).parent / "_proto"
    rc = protoc.main([
        "grpc_tools.protoc",
        f"-I{PROTO_ROOT}",
        f"-I{wkt}",
        f"--python_out={out}",
        f"--grpc_python_out={out}",
        PROTO,
    ])
    if rc != 0:
        sys.exit(f"protoc failed ({rc}) on {PROTO_ROOT / PROTO}")
    sys.path.insert(0, out)
    pb = importlib.import_module("riptide.pool.v1.pool_pb2")
    rpc = importlib.import_module("riptide.pool.v1.pool_pb2_grpc")
    return pb, rpc


def call(fn, *args, **kwargs):
    """Calls an RPC, turning UNIMPLEMENTED into Skip."""
    try:
        return fn(*args, **kwargs)
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.UNIMPLEMENTED:
            raise Skip(err.details()) from None
        raise


def title_and_links(pb, stub):
    """Asks for the title and every link of a page, from one parse."""
    css = pb.CssSpec
    req = pb.ExtractRequest(
        html=PAGE,
        url=PAGE_URL,
        fields=pb.FieldsSpec(fields={
            "title": pb.FieldSpec(css=css(selector="title")),
            "links": pb.FieldSpec(css=css(selector="a[href]", attribute="href", all=True)),
            "link_text": pb.FieldSpec(css=css(selector="a[href]", all=True)),
        }),
    )
    resp = call(stub.Extract, req, timeout=10)
    title = list(resp.fields["title"].values)
    # CSS answers attributes as written; resolve them against the page URL.
    hrefs = [urljoin(PAGE_URL, h) for h in resp.fields["links"].values]
    links = list(zip(hrefs, resp.fields["link_text"].values))
    print(f"title: {title[0] if title else ''!r} (pool {resp.pool}, instance {resp.instance_id})")
    for href, text in links:
        print(f"  link {text!r} -> {href}")
    return title, links


def article(pb, stub):
    """Reads the page as an article with the bundled WASM module."""
    req = pb.ExtractRequest(html=PAGE, url=PAGE_URL, wasm=pb.WasmSpec(module="article", mode="article"))
    resp = call(stub.Extract, req, timeout=10)
    result = resp.result
    print(f"article: title {result['title']!r}, {int(result['word_count'])} words, "
          f"{len(result['links'])} links")
    return result


def lease(pb, stub):
    """Leases a css extractor, extracts on it twice, renews and releases."""
    from google.protobuf import duration_pb2

    resp = call(stub.Checkout, pb.CheckoutRequest(pool="css", ttl=duration_pb2.Duration(seconds=30)), timeout=10)
    lease_id = resp.lease.lease_id
    print(f"leased {resp.lease.instance_id} of pool {resp.lease.pool} until {resp.lease.expires_at.ToJsonString()}")
    try:
        instances = set()
        for selector in ("h1", "p"):
            r = call(stub.Extract, pb.ExtractRequest(html=PAGE, css=pb.CssSpec(selector=selector), lease_id=lease_id), timeout=10)
            instances.add(r.instance_id)
            print(f"  on the lease: {selector} -> {list(r.values)}")
        call(stub.RenewLease, pb.RenewLeaseRequest(lease_id=lease_id, ttl=duration_pb2.Duration(seconds=60)), timeout=10)
        return instances, resp.lease.instance_id
    finally:
        call(stub.ReleaseLease, pb.ReleaseLeaseRequest(lease_id=lease_id), timeout=10)
        print("  released")


def events(pb, stub, want=2, timeout=10.0):
    """Subscribes to checkout and return events of the css pool, causes
    some, and prints the first few."""
    kinds = [pb.EVENT_KIND_INSTANCE_CHECKED_OUT, pb.EVENT_KIND_INSTANCE_RETURNED]
    stream = stub.PoolEvents(pb.PoolEventsRequest(kinds=kinds, pools=["css"]), timeout=timeout)
    got = []

    def cause():
        # The server registers the subscription when the first message is
        # requested; extract until events arrive.
        for _ in range(20):
            if len(got) >= want:
                return
            try:
                stub.Extract(pb.ExtractRequest(html=PAGE, css=pb.CssSpec(selector="h1")), timeout=5)
            except grpc.RpcError:
                return
            threading.Event().wait(0.1)

    worker = threading.Thread(target=cause, daemon=True)
    worker.start()
    try:
        for ev in stream:
            e = ev.event
            got.append(e.WhichOneof("kind"))
            print(f"  event {e.WhichOneof('kind')} pool={e.pool} instance={e.instance_id}")
            if len(got) >= want:
                break
    except grpc.RpcError as err:
        if err.code() == grpc.StatusCode.UNIMPLEMENTED:
            raise Skip(err.details()) from None
        raise
    finally:
        stream.cancel()
        worker.join()
    return got


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--addr", default=os.environ.get("RIPTIDE_ADDR", "127.0.0.1:50051"),
                    help="daemon address: host:port or unix:///path (default $RIPTIDE_ADDR or 127.0.0.1:50051)")
    ap.add_argument("--check", action="store_true", help="assert the answers (for CI)")
    args = ap.parse_args()

    pb, rpc = load_stubs()
    channel = grpc.insecure_channel(args.addr)
    grpc.channel_ready_future(channel).result(timeout=10)
    stub = rpc.PoolServiceStub(channel)
    failures = 0

    def step(name, fn, check):
        nonlocal failures
        print(f"== {name}")
        try:
            result = fn(pb, stub)
        except Skip as skip:
            print(f"SKIP {name}: the daemon does not implement it yet ({skip})")
            return
        if args.check:
            problem = check(result)
            if problem:
                print(f"FAIL {name}: {problem}")
                failures += 1
                return
        print(f"OK {name}")

    step("title and links", title_and_links, lambda r: (
        None if r[0] == ["Tide tables"] and [h for h, _ in r[1]] == [
            "https://tides.example.com/north", "https://tides.example.com/today/south.html",
            "https://example.org/charts"] else f"got {r}"))
    step("article (wasm)", article, lambda r: None if r["title"] == "Tide tables" else f"got title {r['title']!r}")
    step("lease", lease, lambda r: None if r[0] == {r[1]} else f"extractions ran on {r[0]}, leased {r[1]}")
    step("events", events, lambda r: None if "instance_checked_out" in r else f"got {r}")
    channel.close()
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
