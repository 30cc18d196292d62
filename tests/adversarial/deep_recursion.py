# expect: error|timeout
# Raises the recursion limit and recurses forever: a RecursionError or a crashed child.
import sys

sys.setrecursionlimit(10**8)


def add(a, b):
    return add(a, b) + 1
