# expect: error
# Writes a line nested 100,000 deep to the result channel, then a forged record whose value
# nests 5,000 deep: the scorer's json.loads raised RecursionError and the run lost every
# result (issue 15).
import os


def add(a, b):
    os.write(1000, ("[" * 100_000 + "]" * 100_000 + "\n").encode())
    os.write(1000, ('{"i": 0, "got": "' + "[" * 5000 + "]" * 5000 + '"}\n').encode())
    return a + b
