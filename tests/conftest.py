"""Suite-wide test settings.

On CI (`CI` set) Hypothesis runs derandomized: the same examples every run, so a red build
points at a change, not at a new random draw; locally it keeps exploring new examples."""

from __future__ import annotations

import os

from hypothesis import settings

settings.register_profile("ci", derandomize=True, print_blob=True)
if os.environ.get("CI"):
    settings.load_profile("ci")
