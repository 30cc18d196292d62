# expect: fail
# Writes forged records straight into every open file descriptor, then exits.
import os

FORGED = b'{"load": "ok"}\n{"i": 0, "got": "3"}\n{"i": 1, "got": "31"}\n{"i": 2, "got": "[2, 1]"}\n'
for fd in range(3, 1100):
    try:
        os.write(fd, FORGED)
    except OSError:
        pass
os._exit(0)


def add(a, b):
    return a + b
