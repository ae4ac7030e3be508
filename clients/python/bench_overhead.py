"""What the Python client adds over the generated stub: the same css
question about one page, to the same daemon, alternating raw stub and
client in rounds so that drift in the machine's load hits both alike.
Prints the median time per call of each and their ratio.

    python3 bench_overhead.py ADDR PAGE [ROUNDS] [CALLS_PER_ROUND]
"""

import statistics
import sys
import time

import grpc

from riptide_poold import Client
from riptide_poold._pb import pool_pb2 as pb
from riptide_poold._pb import pool_pb2_grpc as pb_grpc


def main() -> None:
    addr, page_path = sys.argv[1], sys.argv[2]
    rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 10
    per = int(sys.argv[4]) if len(sys.argv) > 4 else 50
    page = open(page_path, encoding="utf-8").read()
    ch = grpc.insecure_channel(addr)
    stub = pb_grpc.PoolServiceStub(ch)  # type: ignore[no-untyped-call]
    c = Client(addr)
    raw, lib = [], []
    for _ in range(20):  # warm-up: connections, pools, caches
        stub.Extract(pb.ExtractRequest(html=page, css=pb.CssSpec(selector="a")), timeout=30)
        c.css(page, "a")
    for _ in range(rounds):
        t = time.perf_counter()
        for _ in range(per):
            # As a caller of the stub would: a request per call.
            stub.Extract(pb.ExtractRequest(html=page, css=pb.CssSpec(selector="a", attribute="href", all=True)),
                         timeout=30)
        raw.append((time.perf_counter() - t) / per)
        t = time.perf_counter()
        for _ in range(per):
            c.css(page, "a", attribute="href", all=True)
        lib.append((time.perf_counter() - t) / per)
    r, l = statistics.median(raw), statistics.median(lib)
    print(f"python raw {r * 1e3:.3f} ms  client {l * 1e3:.3f} ms  ratio {l / r:.3f}")
    c.close()
    ch.close()


main()
