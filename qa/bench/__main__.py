"""`python -m qa.bench scale-child ARGS`: one scale point in a process of its own."""

import sys

from . import _main

sys.exit(_main(sys.argv[1:]))
