"""What a value must be under its options' semantics, checked as the source reads it (before any decode).

BasicSR's semantics ask nothing (OpenCV's decode ignores colour profiles and
makes 16-bit images 8-bit). traiNNer-redux's ask two things dalisr cannot
otherwise keep: no colour profile but sRGB (it converts others, dalisr
refuses them: :func:`dalisr.formats.icc.check_srgb`), and, where the loader
decodes 8 bits (the first sample was 8-bit), no 16-bit PNG, whose depth
would be lost.
"""

from __future__ import annotations

from dataclasses import dataclass

from ..errors import DalisrError
from ..formats.icc import check_srgb
from ..formats.png import read_png_header


@dataclass(frozen=True)
class ValueRules:
    """``srgb_only``: refuse other embedded colour profiles; ``depth``: the bits per channel the loader decodes."""

    srgb_only: bool = False
    depth: int = 8

    def check(self, data: bytes | memoryview, key: str, where: str) -> None:
        if not self.srgb_only:
            return
        check_srgb(data, key, where)
        if self.depth == 8:
            head = read_png_header(data)
            if head is not None and head.bit_depth == 16:
                raise DalisrError(f"key '{key}' in {where} is a 16-bit PNG, but this loader decodes 8 bits (its first "
                                  "sample is 8-bit): its depth would be lost. Fix: set bit_depth: 16 in the dataset "
                                  "section (dalisr's key: every image decoded to 16 bits, 8-bit ones widened)")
