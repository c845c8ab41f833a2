"""BasicSR's ``meta_info.txt``: one line per image, ``name.png (h,w,c) level``.

The third field is BasicSR's PNG compression level, or the name of another
codec dalisr writes: ``raw`` for its zero-decode raw codec
(:mod:`dalisr.formats.raw`), e.g. ``0001_s001.png (480,480,3) raw``, ``jp2``
for lossless JPEG 2000 (:mod:`dalisr.formats.jp2`), or ``png-seek`` for
standard PNGs that can be decoded from the middle (:mod:`dalisr.formats.png_seek`).
BasicSR's readers take only the first token (the key), so such files stay parseable by them; dalisr reads the codec from
here and never guesses it from the bytes.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from dataclasses import dataclass

import numpy as np

from ..errors import DalisrError

#: the level field of a raw-codec value
RAW = "raw"
#: the level field of a lossless JPEG 2000 value
JP2 = "jp2"
#: the level field of a seekable PNG value (a standard PNG with restart points and their index)
PNG_SEEK = "png-seek"
CODECS = ("png", RAW, JP2, PNG_SEEK)
_NAMED = (RAW, JP2, PNG_SEEK)

_SHAPE = re.compile(r"^\((\d+),(\d+)(?:,(\d+))?\)$")


@dataclass(frozen=True)
class MetaEntry:
    """One image of a meta info file: its file name, shape (h, w, c) and PNG level (or ``raw``, ``jp2``)."""

    name: str
    shape: tuple[int, ...] | None = None
    level: int | str | None = None

    @property
    def codec(self) -> str:
        """``raw``, ``jp2`` or ``png-seek`` where the level field says so, else ``png`` (BasicSR's PNG values)."""
        return self.level if self.level in _NAMED else "png"

    @property
    def key(self) -> str:
        """The LMDB key: the name without its extension."""
        return os.path.splitext(self.name)[0]

    def line(self) -> str:
        """The line as BasicSR writes it (shape without spaces)."""
        parts = [self.name]
        if self.shape is not None:
            parts.append(format_shape(self.shape))
        if self.level is not None:
            parts.append(str(self.level))
        return " ".join(parts)


def format_shape(shape: Iterable[int]) -> str:
    return "(" + ",".join(str(int(v)) for v in shape) + ")"


def parse_line(line: str, path: str = "meta_info", lineno: int = 0) -> MetaEntry:
    """Parse one line; tolerate name-only lines (BasicSR's meta_info_file uses the first token)."""
    tokens = line.split()
    if not tokens:
        raise DalisrError(f"{path}:{lineno}: empty line in meta info")
    shape = level = None
    if len(tokens) >= 2:
        m = _SHAPE.match(tokens[1])
        if m is None:
            raise DalisrError(
                f"{path}:{lineno}: bad shape '{tokens[1]}' (expected '(h,w,c)' without spaces) in line: {line.strip()}"
            )
        shape = tuple(int(g) for g in m.groups() if g is not None)
    if len(tokens) >= 3:
        if tokens[2] in _NAMED:
            level = tokens[2]
        else:
            try:
                level = int(tokens[2])
            except ValueError:
                raise DalisrError(f"{path}:{lineno}: compression level '{tokens[2]}' is neither an integer nor "
                                  f"'{RAW}', '{JP2}' or '{PNG_SEEK}'") from None
    return MetaEntry(tokens[0], shape, level)


@dataclass(frozen=True)
class MetaTable:
    """A meta info file without an object per line: names in file order, and per line the index (``kinds``)
    of its (shape, level) among the few distinct ones (``tails``: a store's images mostly share one)."""

    names: list[str]
    kinds: np.ndarray
    tails: list[tuple[tuple[int, ...] | None, int | str | None]]

    def __len__(self) -> int:
        return len(self.names)

    def keys(self) -> list[str]:
        """The LMDB keys (names without extension), in file order."""
        return strip_extensions(self.names)

    def codecs(self) -> set[str]:
        return {MetaEntry("", shape, level).codec for shape, level in self.tails}

    def entries(self) -> list[MetaEntry]:
        tails = self.tails
        return [MetaEntry(name, *tails[k]) for name, k in zip(self.names, self.kinds.tolist())]


def strip_extensions(names: list[str]) -> list[str]:
    """``os.path.splitext(name)[0]`` of every name, at C speed where they share one extension."""
    if not names:
        return []
    ext = os.path.splitext(names[0])[1]
    if not ext or not all(n.endswith(ext) for n in names):
        return [os.path.splitext(n)[0] for n in names]
    cut = len(ext)
    keys = [n[:-cut] for n in names]
    # splitext keeps a leading-dot name whole (".png", "dir/..png"): redo the few that could be one
    for i, k in enumerate(keys):
        if not k or k[-1] in "./" or k[-1] == os.sep:
            keys[i] = os.path.splitext(names[i])[0]
    return keys


def read_meta_table(path: str | os.PathLike) -> MetaTable:
    """Every entry of a meta info file, in file order, blank lines skipped: one pass, a regex per distinct
    shape/level only (a million lines in about a second)."""
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            lines = f.read().split("\n")
    except FileNotFoundError:
        raise DalisrError(f"meta info file {path} does not exist") from None
    except OSError as exc:
        raise DalisrError(f"meta info file {path} cannot be read: {exc.strerror or exc}. "
                          "Fix: give this user read permission, or check the disk") from None
    names: list[str] = []
    kinds: list[int] = []
    seen: dict[str, int] = {}
    by_value: dict[tuple, int] = {}
    tails: list[tuple] = []
    add_name, add_kind = names.append, kinds.append
    for lineno, line in enumerate(lines, 1):
        tokens = line.split(None, 1)
        if not tokens:
            continue
        add_name(tokens[0])
        tail = tokens[1] if len(tokens) > 1 else ""
        kind = seen.get(tail)
        if kind is None:  # a spelling not seen yet: parse (and check) it; equal values share a kind
            entry = parse_line(line, path, lineno)
            value = (entry.shape, entry.level)
            kind = seen[tail] = by_value.setdefault(value, len(tails))
            if kind == len(tails):
                tails.append(value)
        add_kind(kind)
    return MetaTable(names, np.array(kinds, dtype=np.int32), tails)


def read_meta_info(path: str | os.PathLike) -> list[MetaEntry]:
    """Every entry of a meta info file, in file order; blank lines are skipped."""
    return read_meta_table(path).entries()


def write_meta_info(path: str | os.PathLike, entries: Iterable[MetaEntry]) -> None:
    with open(path, "w", encoding="utf-8") as f:
        for entry in entries:
            f.write(entry.line() + "\n")


def entries_codec(entries: Iterable[MetaEntry], where: str = "meta_info.txt") -> str:
    """The one codec of a store's entries (``png``, ``raw``, ``jp2`` or ``png-seek``).

    A store that mixes codecs is refused (DalisrError), since a loader picks
    its path per store.
    """
    codecs = {entry.codec for entry in entries}
    if len(codecs) > 1:
        raise DalisrError(f"{where} mixes {' and '.join(sorted(codecs))} entries. Fix: re-create the LMDB with one "
                          "codec (`dalisr convert SRC DST --codec png|raw|jp2|png-seek`)")
    return codecs.pop() if codecs else "png"


_FIRST_TOKEN = re.compile(r"^[ \t]*(\S+)", re.MULTILINE)


def read_first_tokens(path: str | os.PathLike, option: str, fix: str) -> list[str]:
    """The first token of every non-blank line of a list file (BasicSR's meta info lists), in one regex pass.

    ``option`` names the setting that pointed here and ``fix`` what it should point at, for the messages.
    """
    path = os.fspath(path)
    try:
        with open(path, encoding="utf-8") as f:
            return _FIRST_TOKEN.findall(f.read())
    except FileNotFoundError:
        raise DalisrError(f"{option} {path} does not exist. Fix: {fix}") from None
    except OSError as exc:
        raise DalisrError(f"{option} {path} cannot be read: {exc.strerror or exc}. Fix: give this user read "
                          "permission, or check the disk") from None


def read_sequence_list(path: str | os.PathLike, option: str = "meta_info_file") -> list[str]:
    """Vimeo90K's ``clip/seq`` list: the first token of every non-blank line.

    Reads ``sep_trainlist.txt`` and BasicSR's Vimeo90K meta info alike.
    ``option`` names the setting that pointed here, for the error messages.
    """
    seqs = read_first_tokens(path, option, "point it at Vimeo90K's sep_trainlist.txt or a meta info file with "
                                           "'clip/seq' first on each line")
    for i, seq in enumerate(seqs, 1):
        if seq.count("/") != 1:
            raise DalisrError(f"{path}: entry {i} '{seq}' is not 'clip/seq' (e.g. 00001/0001)")
    if not seqs:
        raise DalisrError(f"{option} {path} lists no sequence")
    return seqs
