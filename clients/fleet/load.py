"""Fleet load from the Python client: N css calls, C at a time, through one
target; prints one JSON line {"ok": n, "failed": m, "errors": [...]}.

    python3 load.py TARGET N C
"""

import json
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import List

from riptide_poold import Client

PAGE = "<html><head><title>fleet</title></head><body><h1>fleet</h1></body></html>"


def main() -> None:
    target, n, conc = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    errors: List[str] = []
    with Client(target, timeout=60) as c:
        def one(_: int) -> bool:
            try:
                return c.css(PAGE, "h1").values == ["fleet"]
            except Exception as e:  # every failure is reported, none is fatal
                errors.append(repr(e))
                return False
        with ThreadPoolExecutor(conc) as ex:
            results = list(ex.map(one, range(n)))
    ok = sum(results)
    print(json.dumps({"ok": ok, "failed": n - ok, "errors": errors[:5]}))


main()
