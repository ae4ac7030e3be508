"""riptide-poold from Python: links, a price, an article, a lease, an event.

    /usr/bin/python3 -m venv --system-site-packages .venv
    .venv/bin/pip install --no-index --no-build-isolation ./clients/python
    .venv/bin/python examples/python/riptide_client.py 127.0.0.1:50051
"""
import sys, threading
from riptide_poold import Client

PAGE, URL = "<title>Tide tables</title><p>High water at 06:12, $12.50 a copy.</p><a href=/north>North</a> <a href=south.html>South</a>", "https://tides.example.com/today/"
with Client(sys.argv[1]) as c:
    print("links:", *c.css(PAGE, "a", attribute="href", all=True).values)
    print("price:", c.regex(PAGE, r"\$(?P<amount>[0-9.]+)").matches[0].named["amount"])
    print("article:", c.article(PAGE, mode="full", url=URL).title, *[link.url for link in c.article(PAGE, mode="full", url=URL).links])
    with c.lease("css") as lease:
        title = lease.css(PAGE, "title")
        print("lease:", title.values[0], "from the leased instance" if title.served.instance_id == lease.instance_id else "from another")
    threading.Timer(0.2, c.css, (PAGE, "p")).start()  # a checkout for the subscription below to see
    print("event:", next(iter(c.events(kinds=["instance_checked_out"], pools=["css"], timeout=10))).WhichOneof("kind"))
