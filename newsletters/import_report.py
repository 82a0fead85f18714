"""The rows an import could not take, written to a CSV file as they are found (line, problem).

Shared by `flask subscribers import` (a file beside the input) and the staff upload page (a
file the page links to). Nothing is kept in memory but the count and the first few problems,
so a file with a million bad rows costs no more than one with none. The file is created only
when there is something to write.
"""

from __future__ import annotations

import csv
from pathlib import Path
from typing import TextIO

from newsletters.importing import RowProblem

HEADER = ("line", "problem")
SHOWN = 3  # problems quoted in the short summary


class RejectedRows:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.count = 0
        self.first: list[RowProblem] = []
        self._file: TextIO | None = None
        self._writer = None

    def __enter__(self) -> RejectedRows:
        return self

    def __exit__(self, *_exc) -> None:
        self.close()

    def add(self, problem: RowProblem) -> None:
        if self._writer is None:
            # utf-8-sig: spreadsheet programs open it with the right characters.
            self._file = open(self.path, "w", encoding="utf-8-sig", newline="")  # noqa: SIM115
            self._writer = csv.writer(self._file)
            self._writer.writerow(HEADER)
        self._writer.writerow((problem.line, problem.reason))
        self.count += 1
        if len(self.first) < SHOWN:
            self.first.append(problem)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None

    def summary(self) -> str:
        """One or two lines for a person: how many, and the first few with their lines."""
        if not self.count:
            return "No row was rejected."
        rows = "row was" if self.count == 1 else "rows were"
        shown = "; ".join(f"line {problem.line}: {problem.reason}" for problem in self.first)
        more = f"; and {self.count - len(self.first)} more" if self.count > len(self.first) else ""
        return f"{self.count} {rows} rejected ({shown}{more})."
