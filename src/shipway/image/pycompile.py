"""Byte-compiling the dependencies layer's modules (``deps``) in fresh worker processes.

A .pyc file's bytes depend on the compiling interpreter's state, not only on the source:
marshal marks an object shared by its reference count, and a string interned elsewhere
in the process counts. Compiled inside Shipway, the same module could come out differently
after ``shipway build`` than after ``shipway deploy`` (they import different modules
first). Each worker is a new ``python -I -S`` given only its list of files, so the bytes
depend on the Python version alone, never on what ran before, how the files are split
among workers, or in what order they come.
"""

from __future__ import annotations

import json
import subprocess
import sys

from shipway.errors import ShipwayError

#: The worker: reads [[source, pyc, name in the image], ...] from stdin; a file Python
#: cannot compile (test data, a Python 2 leftover) or whose .pyc cannot be written (a
#: link there) is left out, as compileall leaves it for pip.
WORKER = """
import json, py_compile, sys
mode = py_compile.PycInvalidationMode.UNCHECKED_HASH
for source, cache, name in json.load(sys.stdin):
    try:
        py_compile.compile(
            source, cfile=cache, dfile=name, quiet=2, optimize=0, invalidation_mode=mode
        )
    except (OSError, SyntaxError, UnicodeError, ValueError):
        pass
"""


def compile_batches(batches: list[list[tuple[str, str, str]]]) -> None:
    """Each batch of (source, .pyc, name in the image) in a worker of its own, all at
    once; hash-based .pyc files, not checked against the source (the image's never
    change)."""
    workers = []
    for batch in batches:
        worker = subprocess.Popen(
            [sys.executable, "-I", "-S", "-c", WORKER],
            stdin=subprocess.PIPE,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert worker.stdin is not None
        with worker.stdin:
            worker.stdin.write(json.dumps(batch).encode())
        workers.append(worker)
    failed = [code for code in (worker.wait() for worker in workers) if code != 0]
    if failed:
        raise ShipwayError(
            f"compiling the dependencies' bytecode failed (a worker exited with {failed[0]}); "
            "run the build again"
        )
