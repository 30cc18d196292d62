# expect: error
# Hard-exits with status 0 from inside the first test: later tests never ran.
import os


def add(a, b):
    os._exit(0)
