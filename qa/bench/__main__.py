"""`python -m qa.bench scale-child ARGS`: one scale point in a process of its own (what
`qa bench` runs for each corpus size, so that its peak memory is that size's)."""

from __future__ import annotations

import json
import sys

from .scale import _scale_child


def _main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "scale-child":
        args = json.loads(argv[1])
        point = _scale_child(args["size"], args.get("model_path"), args["real_up_to"],
                             args["queries"], args.get("store", "files"))
        print("QA_BENCH " + json.dumps(point), flush=True)
        return 0
    print("usage: python -m qa bench [--quick] [--out FILE]", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(_main(sys.argv[1:]))
