# expect: timeout
# Forks without bound: the process limit stops it, the namespace teardown reaps it.
import os
import sys


def add(a, b):
    print("uid", os.getuid(), file=sys.stderr, flush=True)  # lets the test look for survivors
    while True:
        try:
            os.fork()
        except OSError:
            pass
