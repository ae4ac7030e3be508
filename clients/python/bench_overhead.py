"""What the Python client adds over the generated stub (docs/CLIENTS.md,
"Overhead"): the same css question about one page, to the same daemon,
four ways, each building its request per call as a caller would:

  stub    the generated stub on the client's own channel (Client.stub):
          same channel options, so the difference is the library's code;
  client  Client.css;
  stock   the generated stub on a channel with grpcio's defaults, for what
          the client's channel options change;
  twin    stub again, a control: its ratio to stub is the noise.

The ways run in rounds, in an order that reverses every round (stub,
client, stock, twin, then twin, stock, client, stub), so that drift in
the machine's load hits each alike. Prints, for the wall time and for
this process's CPU time (the client's own work, which other processes move
less than the wall time), each way's median time per call over the rounds, and the median with
the quartiles of each way's per-round ratio to stub (the ratio of two runs
side by side, which drift between rounds does not move).

    python3 bench_overhead.py ADDR PAGE [ROUNDS] [CALLS_PER_ROUND]
"""

import statistics
import sys
import time
import timeit
from typing import Callable, Dict, List, Optional

import grpc

from riptide_poold import Client
from riptide_poold._pb import pool_pb2 as pb
from riptide_poold._pb import pool_pb2_grpc as pb_grpc


def quartiles(xs: List[float]) -> str:
    q = statistics.quantiles(xs, n=4, method="inclusive")
    return f"{statistics.median(xs):.3f} [{q[0]:.3f}, {q[2]:.3f}]"


def main() -> None:
    addr, page_path = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 30
    per = int(sys.argv[4]) if len(sys.argv) > 4 else 30
    page = open(page_path, encoding="utf-8").read()
    c = Client(addr)
    stock_channel = grpc.insecure_channel(addr)
    stock = pb_grpc.PoolServiceStub(stock_channel)  # type: ignore[no-untyped-call]

    def stub_call(stub: pb_grpc.PoolServiceStub) -> Callable[[], object]:
        def run() -> object:
            return stub.Extract(pb.ExtractRequest(html=page, css=pb.CssSpec(selector="a", attribute="href", all=True)),
                                timeout=30)
        return run

    ways: Dict[str, Callable[[], object]] = {
        "stub": stub_call(c.stub),
        "client": lambda: c.css(page, "a", attribute="href", all=True),
        "stock": stub_call(stock),
        "twin": stub_call(c.stub),  # the stub again: its ratio to stub is the noise
    }
    times: Dict[str, List[float]] = {name: [] for name in ways}
    cpu: Dict[str, List[float]] = {name: [] for name in ways}
    for _ in range(20):  # warm-up: connections, pools, caches
        for run in ways.values():
            run()
    print(f"python: {rounds} rounds of {per} calls; wall time, and this process's CPU time")
    order = list(ways)
    for _ in range(rounds):
        for name in order:
            run = ways[name]
            t, c0 = time.perf_counter(), time.process_time()
            for _ in range(per):
                run()
            times[name].append((time.perf_counter() - t) / per)
            cpu[name].append((time.process_time() - c0) / per)
        order.reverse()
    for label, xs in (("wall", times), ("cpu", cpu)):
        ms = {name: statistics.median(ts) * 1e3 for name, ts in xs.items()}
        ratios = {name: quartiles([t / raw for t, raw in zip(xs[name], xs["stub"])]) for name in ("client", "stock", "twin")}
        print(f"python {label}: median ms/call: " + ", ".join(f"{name} {t:.3f}" for name, t in ms.items()) +
              "; per-round ratio to stub, median [quartiles]: " + ", ".join(f"{n} {q}" for n, q in ratios.items()))
    code(c, c.stub.Extract(pb.ExtractRequest(html=page, css=pb.CssSpec(selector="a", attribute="href", all=True)),
                           timeout=30))
    c.close()
    stock_channel.close()


class _Canned:
    """A stub whose Extract answers at once with a copy of one response,
    parsed afresh from its bytes as a real call's is: protobuf caches what
    is read of a message, so answering the same object every time would
    hide the cost of reading it (half of the library's)."""

    def __init__(self, resp: pb.ExtractResponse) -> None:
        self.raw = resp.SerializeToString()

    def Extract(self, req: object, timeout: Optional[float] = None,
                wait_for_ready: Optional[bool] = None) -> pb.ExtractResponse:
        resp: pb.ExtractResponse = pb.ExtractResponse.FromString(self.raw)
        return resp


def code(c: Client, resp: pb.ExtractResponse) -> None:
    """The library's own code per call, without the network and the
    daemon (and so without their noise): the stub's call and the client's
    answered at once by a canned response (the daemon's answer above). The
    client's channel is swapped for the canned one, so it is closed after."""
    canned = _Canned(resp)
    c._caller.stub = canned  # type: ignore[assignment]  # the bench reaches into the client
    doc = "<p>" * 10  # both paths pass the page through untouched; the size check reads only its length

    def stub() -> object:
        return canned.Extract(pb.ExtractRequest(html=doc, css=pb.CssSpec(selector="a", attribute="href", all=True)),
                              timeout=30)

    def lib() -> object:
        return c.css(doc, "a", attribute="href", all=True)
    n = 5000
    us = {name: min(timeit.repeat(f, number=n, repeat=7)) / n * 1e6 for name, f in (("stub", stub), ("client", lib))}
    print(f"python code alone (canned answer): stub {us['stub']:.1f} us/call, client {us['client']:.1f} us/call: "
          f"the library adds {us['client'] - us['stub']:.1f} us a call")


main()
