"""Progress of a long build, for people: a tqdm bar on a terminal, plain lines otherwise (logs,
CI), and the build's one line per document and per skipped file."""

from __future__ import annotations

import sys
import time
from typing import Iterable, Iterator, TextIO

PLAIN_EVERY_S = 5.0  # plain progress lines: at most one per this many seconds, per step


class Progress:
    """Reports to `stream` (progress) and `out` (the per-document lines). `bar`: None picks a
    tqdm bar when `stream` is a terminal."""

    def __init__(self, stream: TextIO | None = None, out: TextIO | None = None,
                 bar: bool | None = None):
        self.stream = stream or sys.stderr
        self.out = out or sys.stdout
        self.bar = self.stream.isatty() if bar is None else bar
        self._active = None  # the tqdm bar being drawn, if any

    def steps(self, items: Iterable, what: str, total: int | None = None) -> Iterator:
        """`items`, reporting how many have been done."""
        items = list(items) if total is None else items
        total = len(items) if total is None else total
        if self.bar:
            from tqdm import tqdm
            with tqdm(items, total=total, desc=what, unit="", file=self.stream,
                      leave=False, dynamic_ncols=True) as bar:
                self._active = bar
                try:
                    yield from bar
                finally:
                    self._active = None
            return
        shown = time.monotonic()
        for done, item in enumerate(items, 1):
            yield item
            if time.monotonic() - shown >= PLAIN_EVERY_S and done < total:
                self._plain(f"{what}: {done}/{total}")
                shown = time.monotonic()
        if total:
            self._plain(f"{what}: {total}/{total}")

    def count(self, what: str, total: int) -> "Counter":
        """A counter to advance by hand (embedding in batches)."""
        return Counter(self, what, total)

    def note(self, line: str) -> None:
        """A line of the build's report (stdout), printed above the bar."""
        self._write(line, self.out)

    def skipped(self, skipped) -> None:
        """A file that was not indexed, and why (stderr)."""
        self._write(f"skipped {skipped}", self.stream)

    def _plain(self, line: str) -> None:
        print(line, file=self.stream, flush=True)

    def _write(self, line: str, stream: TextIO) -> None:
        if self._active is not None:
            from tqdm import tqdm
            tqdm.write(line, file=stream)
        else:
            print(line, file=stream, flush=True)


class Counter:
    """Advanced by `update(n)`; a bar or plain lines as its Progress says."""

    def __init__(self, progress: Progress, what: str, total: int):
        self.progress, self.what, self.total, self.done = progress, what, total, 0
        self._shown = time.monotonic()
        self._bar = None
        if progress.bar and total:
            from tqdm import tqdm
            self._bar = tqdm(total=total, desc=what, file=progress.stream, leave=False,
                             dynamic_ncols=True)
            progress._active = self._bar

    def update(self, n: int) -> None:
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.done < self.total and time.monotonic() - self._shown >= PLAIN_EVERY_S:
            self.progress._plain(f"{self.what}: {self.done}/{self.total}")
            self._shown = time.monotonic()

    def close(self) -> None:
        if self._bar is not None:
            self._bar.close()
            self.progress._active = None
        elif self.total:
            self.progress._plain(f"{self.what}: {self.done}/{self.total}")
