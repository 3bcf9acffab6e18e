"""keep_freed_memory: a freed 64 MiB block is reused without new page faults (glibc), in a child process."""

import subprocess
import sys

import pytest

from seqlab.config import HardwareConfig

CHILD = """
import ctypes, resource, sys
from seqlab.memory import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "keep" else False
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = (ctypes.c_void_p,)
size = 64 << 20
def touch():
    block = libc.malloc(size)
    ctypes.memset(block, 1, size)
    libc.free(block)
touch()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
touch()  # the same size again
print(applied, resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc settings")
def test_freed_block_is_reused_without_page_faults():
    faults = {}
    for mode in ("keep", "plain"):
        out = subprocess.run([sys.executable, "-c", CHILD, mode], capture_output=True, text=True, check=True)
        applied, count = out.stdout.split()
        faults[mode] = int(count)
        assert applied == str(mode == "keep")
    assert faults["plain"] >= (64 << 20) // 4096  # mapped anew: one fault per 4 KiB page at least
    assert faults["keep"] < 1000  # the freed heap block is reused


def test_hardware_keeps_freed_memory_by_default():
    assert HardwareConfig().keep_freed_memory is True
    assert HardwareConfig(keep_freed_memory=False).keep_freed_memory is False
