"""What the Python client adds over the generated stub (docs/CLIENTS.md,
"Overhead"): the same css question about one page, to the same daemon,
three ways, each building its request per call as a caller would:

  stub    the generated stub on the client's own channel (Client.stub):
          same channel options, so the difference is the library's code;
  client  Client.css;
  stock   the generated stub on a channel with grpcio's defaults, for what
          the client's channel options change.

The ways run in rounds, in an order that reverses every round (stub,
client, stock, then stock, client, stub), so that drift in the machine's
load hits each alike. Prints, for the wall time and for this process's CPU
time (the client's own work, which the machine's other processes move far
less), each way's median time per call over the rounds, and the median with
the quartiles of the per-round ratios client / stub and stock / stub (the
ratio of two runs side by side, which drift between rounds does not move).

    python3 bench_overhead.py ADDR PAGE [ROUNDS] [CALLS_PER_ROUND]
"""

import statistics
import sys
import time
from typing import Callable, Dict, List

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
        client_ratio = [lib / raw for lib, raw in zip(xs["client"], xs["stub"])]
        stock_ratio = [s / raw for s, raw in zip(xs["stock"], xs["stub"])]
        print(f"python {label}: median ms/call: stub {ms['stub']:.3f}, client {ms['client']:.3f}, "
              f"stock {ms['stock']:.3f}; per-round ratio, median [quartiles]: client/stub "
              f"{quartiles(client_ratio)}, stock/stub {quartiles(stock_ratio)}")
    c.close()
    stock_channel.close()


main()
