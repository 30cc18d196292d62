# expect: error
# Floods the result channel with 200,000 small records per test before the harness writes
# its own: the scorer parsed every one, several CPU-seconds per candidate (issue 15).
import os


def add(a, b):
    os.write(1000, b'{"i": 99, "got": "1"}\n' * 200_000)
    return a + b
