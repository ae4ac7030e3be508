from __future__ import annotations

import asyncio
import threading
import time
from typing import Any, List, Type, Union

import grpc
import pytest
from google.protobuf import struct_pb2

from riptide_poold import (
    AsyncClient, Client, Css, DocumentTooLarge, InvalidRequest, LeaseNotFound, PoolExhausted, Regex,
    RiptideError, Structured, XPath,
)
from riptide_poold import _core
from riptide_poold._pb import pool_pb2 as pb
from riptide_poold._pb import rpc_status_pb2
from riptide_poold.errors import from_status

from conftest import Daemon

PAGE = """<html lang=en><head><title>Tide tables</title></head><body><article>
<h1>Tide tables</h1><p>High water at 06:12 and 18:40, low water at 12:25. Readings from the
harbour office, updated every morning with the forecast for the week ahead, $12.50 a copy.</p>
<a href="/north">North</a> <a href="https://example.org/south">South</a>
</article></body></html>"""
URL = "https://example.com/tides/"


def test_extract_helpers(daemon: Daemon) -> None:
    with Client(daemon.addr) as c:
        v = c.css(PAGE, "a", attribute="href", all=True, url=URL)
        assert v.values == ["/north", "https://example.org/south"]
        assert v.served.pool == "css" and v.served.instance_id
        assert c.css(PAGE, "a", attribute="href", all=True, absolute_urls=True, url=URL).values == [
            "https://example.com/north", "https://example.org/south"]
        n = c.xpath(PAGE, "count(//a)")
        assert (n.xpath_type, n.number, n.values) == ("number", 2.0, ["2"])
        assert c.xpath(PAGE, XPath("//h1")).values == ["Tide tables"]
        sd = c.structured('<head><meta property="og:title" content="Tides">'
                          '<script type="application/ld+json">{"@type": "Article", "wordCount": 3}</script></head>')
        assert sd.result["json-ld"] == [{"@type": "Article", "wordCount": 3}]
        m = c.regex(PAGE, r"\$(?P<amount>[0-9.]+)", all=True)
        assert [x.named["amount"] for x in m.matches] == ["12.50"]
        f = c.fields(PAGE, {"title": Css("title"), "times": Regex(r"[0-9]{2}:[0-9]{2}", all=True),
                            "links": XPath("//a/@href", all=True), "data": Structured(syntaxes=("json-ld",))})
        assert f.fields["links"].values == ["/north", "https://example.org/south"]
        assert f.fields["data"].result == {"json-ld": []}
        assert f.fields["title"].result is None
        assert f.fields["title"].values == ["Tide tables"]
        assert [x.value for x in f.fields["times"].matches] == ["06:12", "18:40", "12:25"]
        a = c.article(PAGE, url=URL, mode="full")
        assert (a.title, a.lang) == ("Tide tables", "en")
        assert [link.url for link in a.links] == ["https://example.com/north", "https://example.org/south"]
        assert isinstance(a.word_count, int) and a.word_count > 10
        r = c.wasm(PAGE, mode="custom", selectors=["h1", "a"])
        # google.protobuf.Value decoded whatever its nesting: a struct of lists.
        assert r.result["selectors"] == {"h1": ["Tide tables"], "a": ["North", "South"]}
        raw = c.css(b"<p>caf\xe9</p>", "p", content_type="text/html; charset=windows-1252")
        assert raw.values == ["caf\u00e9"]


@pytest.mark.parametrize("call, exc, field", [
    (lambda c: c.css("<p>x</p>", "p[[["), InvalidRequest, "css.selector"),
    (lambda c: c.regex("<p>x</p>", "("), InvalidRequest, "regex.pattern"),
    (lambda c: c.wasm("<p>x</p>", module="nope"), InvalidRequest, "wasm.module"),
    (lambda c: c.css("<p>x</p>", "p", output="bogus"), InvalidRequest, "css.output"),
    (lambda c: c.fields("<p>x</p>", {"x": "p"}), InvalidRequest, "fields.x"),
])
def test_errors(daemon: Daemon, call: Any, exc: Type[RiptideError], field: str) -> None:
    with Client(daemon.addr) as c:
        with pytest.raises(exc) as info:
            call(c)
        assert isinstance(info.value, RiptideError)
        assert not isinstance(info.value, PoolExhausted)
        assert info.value.field == field
        assert info.value.code == grpc.StatusCode.INVALID_ARGUMENT


# small_daemon's MAX_DOCUMENT_BYTES is 4096: a str's length decides unless
# it lies between 4096 / 4 and 4096, where its UTF-8 form is measured.
@pytest.mark.parametrize("doc,refused", [
    ("x" * 5000, True),
    ("x" * 4096, False),
    ("\u20ac" * 1366, True),  # 3 bytes each: 4098
    ("\u20ac" * 1365, False),  # 4095
    ("\U0001f600" * 1025, True),  # 4 bytes each: 4100
    (b"\0" * 4097, True),
])
def test_document_size(small_daemon: Daemon, doc: Union[str, bytes], refused: bool) -> None:
    with Client(small_daemon.addr) as c:
        if not refused:
            assert c.css(doc, "p").values == []
            return
        with pytest.raises(DocumentTooLarge) as info:
            c.css(doc, "p")
        assert info.value.field == ("raw_html" if isinstance(doc, bytes) else "html")
        assert info.value.attempts == 0


def test_large_result(daemon: Daemon) -> None:
    """A result over grpc's default 4 MiB: a stock channel fails, the
    client (limits from ListExtractors) receives it."""
    doc = "<html><body>" + ("<p>" + "riptide " * 100 + "</p>") * 7000 + "</body></html>"
    req = pb.ExtractRequest(html=doc, css=pb.CssSpec(selector="body", output=pb.CSS_OUTPUT_OUTER_HTML))
    with grpc.insecure_channel(daemon.addr) as ch:
        from riptide_poold._pb import pool_pb2_grpc
        with pytest.raises(grpc.RpcError) as info:
            pool_pb2_grpc.PoolServiceStub(ch).Extract(req, timeout=60)  # type: ignore[no-untyped-call]
        assert info.value.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    with Client(daemon.addr) as c:
        v = c.css(doc, "body", output="outer_html", timeout=60)
        assert len(v.values[0]) > 4 << 20


def test_pool_exhausted_retried(small_daemon: Daemon) -> None:
    with Client(small_daemon.addr, max_attempts=1) as once:
        lease = once.lease("css", ttl=60)
        with pytest.raises(PoolExhausted) as info:
            once.css("<h1>x</h1>", "h1")
        assert info.value.retry_delay and info.value.attempts == 1
        with Client(small_daemon.addr, max_attempts=1000, max_retry_delay=1.0) as retrying:
            result: List[Any] = []
            t = threading.Thread(target=lambda: result.append(retrying.css("<h1>x</h1>", "h1", timeout=60)))
            t.start()
            before = once.get_metrics("css").pools[0].timeouts
            while once.get_metrics("css").pools[0].timeouts <= before:
                time.sleep(0.02)
            lease.release()
            t.join(60)
            assert result and result[0].values == ["x"]


SCRAPER_PAGE = ('<html><head><base href="/docs/"></head><body><h1>Tides <b>today</b></h1>'
                '<a href="north">North</a><a href="http://a b/">Bad</a><img srcset="s.png 1x, /l.png 2x"></body></html>')


def test_scraper_questions(daemon: Daemon) -> None:
    """What a Scrapy user brings: parsel selectors pasted as they are, links
    made absolute (in fields too, the unresolved counted), a field's XPath
    type, and a structured answer cut at max_structured_items, on a lease too."""
    with Client(daemon.addr) as c:
        assert c.css(SCRAPER_PAGE, "h1::text", all=True).values == ["Tides "]
        assert c.css(SCRAPER_PAGE, "h1 ::text", all=True).values == ["Tides ", "today"]
        assert c.css(SCRAPER_PAGE, "a::attr(href)", all=True).values == ["north", "http://a b/"]
        v = c.css(SCRAPER_PAGE, "a::attr(href)", all=True, absolute_urls=True, url=URL)
        assert (v.values, v.unresolved_urls) == (["https://example.com/docs/north", "http://a b/"], 1)
        assert c.css(SCRAPER_PAGE, "img::attr(srcset)", absolute_urls=True, url=URL).values == [
            "https://example.com/docs/s.png 1x, https://example.com/l.png 2x"]
        f = c.fields(SCRAPER_PAGE, {"css": Css("a::attr(href)", all=True, absolute_urls=True),
                                    "xpath": XPath("//a/@href", all=True, absolute_urls=True),
                                    "count": XPath("count(//a)"), "any": XPath("boolean(//img)")}, url=URL)
        for name in ("css", "xpath"):
            got = f.fields[name]
            assert (got.values, got.unresolved_urls) == (["https://example.com/docs/north", "http://a b/"], 1), name
        assert f.fields["css"].xpath_type == ""
        assert f.fields["xpath"].xpath_type == "node_set"
        assert (f.fields["count"].xpath_type, f.fields["count"].number) == ("number", 2.0)
        assert (f.fields["any"].xpath_type, f.fields["any"].boolean) == ("boolean", True)

        most = c.list_extractors().limits.max_structured_items
        assert most > 0
        metas = "<head>" + '<meta name="k" content="v">' * (most + 1) + "</head>"
        cut = c.structured(metas, syntaxes=["meta"])
        assert (len(cut.result["meta"]), cut.truncated) == (most, True)
        whole = c.structured('<head><meta name="k" content="v"></head>', syntaxes=["meta"])
        assert (len(whole.result["meta"]), whole.truncated) == (1, False)
        with c.lease("css", ttl=60) as lease:
            r = lease.structured(metas, syntaxes=["meta"])
            assert (len(r.result["meta"]), r.truncated, r.served.instance_id) == (most, True, lease.instance_id)


def test_lease_context_manager(daemon: Daemon) -> None:
    with Client(daemon.addr) as c:
        with c.lease("css", ttl=60) as lease:
            assert c.get_metrics("css").pools[0].leased == 1
            for _ in range(2):
                assert lease.css("<h1>x</h1>", "h1").served.instance_id == lease.instance_id
            lease.renew(120)
        assert c.get_metrics("css").pools[0].leased == 0
        with pytest.raises(LeaseNotFound):
            c._caller.call("RenewLease", pb.RenewLeaseRequest(lease_id=lease.id), _core.NEVER)


def test_events(daemon: Daemon) -> None:
    with Client(daemon.addr) as c:
        got: List[str] = []

        def watch() -> None:
            for ev in c.events(kinds=["instance_checked_out"], pools=["regex"], timeout=30):
                got.append(ev.pool)
                return

        t = threading.Thread(target=watch)
        t.start()
        while t.is_alive():
            c.regex("<p>x</p>", "x")
            time.sleep(0.05)
        assert got == ["regex"]


def test_async(daemon: Daemon) -> None:
    async def main() -> None:
        async with AsyncClient.connect(daemon.addr) as c:
            v = await c.css(PAGE, "h1")
            assert v.values == ["Tide tables"]
            with pytest.raises(InvalidRequest) as info:
                await c.css(PAGE, "p[[[")
            assert info.value.field == "css.selector"
            async with c.lease("regex") as lease:
                r = await lease.regex("<p>x</p>", "x")
                assert r.served.instance_id == lease.instance_id
            assert (await c.get_metrics("regex")).pools[0].leased == 0
            a = await c.article(PAGE, url=URL)
            assert a.title == "Tide tables"

            async def watch() -> str:
                async for ev in c.events(kinds=["instance_checked_out"], pools=["css"], timeout=30):
                    return ev.pool
                return ""

            task = asyncio.ensure_future(watch())
            while not task.done():
                await c.css("<p>x</p>", "p")
                await asyncio.sleep(0.05)
            assert task.result() == "css"

    asyncio.run(main())


@pytest.mark.parametrize("target, want", [
    ("ipv4:127.0.0.1:1,127.0.0.2:2", ["ipv4:127.0.0.1:1", "ipv4:127.0.0.2:2"]),
    ("ipv6:[::1]:1", ["ipv6:[::1]:1"]),
    ("unix:///run/x.sock", ["unix:///run/x.sock"]),
    ("127.0.0.1:50051", ["ipv4:127.0.0.1:50051"]),
    ("dns:///127.0.0.1:50051", ["ipv4:127.0.0.1:50051"]),
    ("dns://8.8.8.8/127.0.0.1:7", ["ipv4:127.0.0.1:7"]),
    ("nonsense", ["nonsense"]),
])
def test_addresses(target: str, want: List[str]) -> None:
    assert _core.addresses(target) == want


@pytest.mark.parametrize("cls, code, reason, want", [
    (_core.IDEMPOTENT, grpc.StatusCode.UNAVAILABLE, "", True),
    (_core.IDEMPOTENT, grpc.StatusCode.RESOURCE_EXHAUSTED, "POOL_EXHAUSTED", True),
    (_core.IDEMPOTENT, grpc.StatusCode.RESOURCE_EXHAUSTED, "DOCUMENT_TOO_LARGE", False),
    (_core.IDEMPOTENT, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_REQUEST", False),
    (_core.REFUSED, grpc.StatusCode.UNAVAILABLE, "", False),
    (_core.REFUSED, grpc.StatusCode.UNAVAILABLE, "SHUTTING_DOWN", True),
    (_core.NEVER, grpc.StatusCode.RESOURCE_EXHAUSTED, "POOL_EXHAUSTED", False),
])
def test_retries(cls: int, code: grpc.StatusCode, reason: str, want: bool) -> None:
    assert _core.retries(cls, code, reason) is want


def test_from_status_survives_bad_trailers() -> None:
    st = rpc_status_pb2.Status(code=8, message="x")
    info = rpc_status_pb2.ErrorInfo(domain="riptide.pool.v1", reason="POOL_EXHAUSTED")
    st.details.add().Pack(info, type_url_prefix="type.googleapis.com/")
    st.details[0].type_url = "type.googleapis.com/google.rpc.ErrorInfo"
    good = from_status(grpc.StatusCode.RESOURCE_EXHAUSTED, "x", [("grpc-status-details-bin", st.SerializeToString())])
    assert isinstance(good, PoolExhausted)
    for trailers in ([("grpc-status-details-bin", b"\xff\xff\xff")], None, [("other", "v")], [object()]):
        err = from_status(grpc.StatusCode.UNAVAILABLE, "x", trailers)
        assert err.code == grpc.StatusCode.UNAVAILABLE and err.reason == ""


def _response(result: Any) -> pb.ExtractResponse:
    r = pb.ExtractResponse()
    r.result.update(result)
    return r


@pytest.mark.parametrize("result,want", [
    ({"title": "T", "word_count": 1800, "reading_time_minutes": 7.5, "ok": True, "none": None},
     {"title": "T", "word_count": 1800, "reading_time_minutes": 7.5, "ok": True, "none": None}),
    ({"links": [{"url": "u", "text": "t"}, None, [1, 2.5, [3]]]},
     {"links": [{"url": "u", "text": "t"}, None, [1, 2.5, [3]]]}),
    ({"big": 2.0**53, "neg": -3.0, "zero": 0.0, "empty": {}, "list": []},
     {"big": 2.0**53, "neg": -3, "zero": 0, "empty": {}, "list": []}),
])
def test_result_conversion(result: Any, want: Any) -> None:
    got = _core.result(_response(result)).result
    assert got == want
    # Whole numbers are int (under 2**53), the rest float, as json.loads gives.
    assert {k: type(v) for k, v in got.items()} == {k: type(v) for k, v in want.items()}


def _nested(depth: int) -> pb.ExtractResponse:
    """A result whose "deep" value is depth lists deep, built from the
    inside out (protobuf's own update would recurse in Python)."""
    v = struct_pb2.Value(string_value="x")
    for _ in range(depth):
        w = struct_pb2.Value()
        w.list_value.values.add().CopyFrom(v)
        v = w
    r = pb.ExtractResponse()
    r.result.fields["deep"].CopyFrom(v)
    return r


def test_result_nesting_bound() -> None:
    # "deep" is depth 1 itself; each list is one more level.
    with pytest.raises(ValueError, match="nested too deep"):
        _core.result(_nested(_core.MAX_VALUE_DEPTH))
    got: Any = _core.result(_nested(_core.MAX_VALUE_DEPTH - 1)).result["deep"]
    for _ in range(_core.MAX_VALUE_DEPTH - 1):
        (got,) = got
    assert got == "x"
