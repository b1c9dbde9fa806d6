"""The allocator setting of the training CLI: taken on glibc, refused below 1 MiB."""

from __future__ import annotations

import platform
import sys

import pytest

from negenv.training import memory


def test_glibc_takes_the_thresholds():
    taken = memory.retain_freed_memory()
    on_glibc = sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"
    assert taken is on_glibc


def test_a_threshold_below_one_mebibyte_is_refused():
    with pytest.raises(ValueError, match="threshold must be at least 1 MiB .* got 4096"):
        memory.retain_freed_memory(4096)
