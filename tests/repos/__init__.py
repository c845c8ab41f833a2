"""Small repositories the tests write (toyhat, toytrainner, vendored basicsr copies)."""

from __future__ import annotations

import os


def write_files(root: str, files: dict[str, str]) -> None:
    """Write ``files`` (path below ``root`` -> text, leading newlines dropped) under ``root``."""
    for rel, text in files.items():
        path = os.path.join(root, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w", encoding="utf-8") as f:
            f.write(text.lstrip("\n"))
