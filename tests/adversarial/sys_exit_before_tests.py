# expect: error
# Exits with status 0 while loading, hoping a clean exit reads as success.
import sys

sys.exit(0)


def add(a, b):
    return a + b
