"""Executes one Jupyter notebook with nbclient for `vit notebook run` (vitnb/notebook/run.go).

Usage: python notebookrun.py IN.ipynb OUT.ipynb TIMEOUT_SECONDS STAMP_JSON

Every cell runs even after an error (allow_errors); vit checks the outputs. The kernel starts in the notebook's
folder. STAMP_JSON is stored as the notebook's metadata "vitnb". Exit status 0 when the notebook ran to the end
(its cells may still hold errors), 1 when the run broke off (kernel died, timeout); the partial notebook is
written in both cases.
"""
import json
import os
import sys
import time

import nbformat
from nbclient import NotebookClient


def main():
    src, dst, timeout, stamp = sys.argv[1], sys.argv[2], int(sys.argv[3]), json.loads(sys.argv[4])
    nb = nbformat.read(src, as_version=4)
    total = sum(1 for c in nb.cells if c.cell_type == "code")
    start = time.time()
    state = {"n": 0, "t": start}

    def on_cell_executed(cell, cell_index, **kwargs):
        state["n"] += 1
        now = time.time()
        head = next((l.strip() for l in cell.source.splitlines() if l.strip()), "")[:50]
        print(f"  cell {cell_index + 1} ({state['n']}/{total}) {now - state['t']:.1f}s  {head}", file=sys.stderr, flush=True)
        state["t"] = now

    client = NotebookClient(nb, kernel_name="gonb", timeout=timeout, allow_errors=True,
                            resources={"metadata": {"path": os.path.dirname(os.path.abspath(src))}},
                            on_cell_executed=on_cell_executed)
    status = 0
    try:
        client.execute()
    except Exception as e:  # kernel death, timeout, missing kernel spec
        msg = " ".join(f"{type(e).__name__}: {e}".split())[:300]
        print(f"execution broke off: {msg}", file=sys.stderr)
        stamp["error"] = f"cell {state['n'] + 1} of {total} code cells: {msg}"
        status = 1
    stamp["seconds"] = round(time.time() - start, 1)
    nb.metadata["vitnb"] = stamp
    nbformat.write(nb, dst)
    sys.exit(status)


if __name__ == "__main__":
    main()
