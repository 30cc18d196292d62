# expect: error
# Looks for the scorer (pytest) among the processes it can see: without a PID namespace,
# /proc listed every host process's command line (issue 15). Answers only if it found it.
import os


def add(a, b):
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as handle:
                    if b"pytest" in handle.read():
                        return a + b
            except OSError:
                pass
    raise LookupError("no host process visible")
