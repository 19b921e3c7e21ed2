"""A source text file, addressed by 1-based line numbers."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from kg.errors import SourceFormatError


@dataclass(frozen=True)
class Span:
    """Lines `first`..`last` of a source text, 1-based and inclusive."""

    first: int
    last: int

    def __post_init__(self) -> None:
        if self.first < 1 or self.last < self.first:
            raise ValueError(f"bad span {self.first}-{self.last}")

    def rfc5147(self) -> str:
        """The RFC 5147 fragment; its line positions are 0-based boundaries between lines."""
        return f"line={self.first - 1},{self.last}"

    def __str__(self) -> str:
        return f"{self.first}-{self.last}" if self.last != self.first else str(self.first)


class SourceText:
    """The lines of one text extraction, with locations for error messages."""

    def __init__(self, path: Path, text: str | None = None) -> None:
        self.path = Path(path)
        self.name = self.path.name
        if text is None:
            try:
                text = self.path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                raise SourceFormatError(f"cannot read source text: {exc}", file=self.path) from exc
        self.lines: list[str] = text.split("\n")
        if self.lines and self.lines[-1] == "":
            self.lines.pop()

    def __len__(self) -> int:
        return len(self.lines)

    def line(self, number: int) -> str:
        return self.lines[number - 1]

    def error(self, problem: str, line: int) -> SourceFormatError:
        return SourceFormatError(problem, file=self.name, line=line)

    def find(self, exact: str, start: int = 1, end: int | None = None) -> int | None:
        """First line number in [start, end] whose stripped text equals `exact`."""
        stop = len(self) if end is None else end
        for number in range(start, stop + 1):
            if self.line(number).strip() == exact:
                return number
        return None

    def require(self, exact: str, start: int = 1, end: int | None = None) -> int:
        found = self.find(exact, start, end)
        if found is None:
            raise self.error(f"expected a line reading {exact!r} after line {start}", start)
        return found
