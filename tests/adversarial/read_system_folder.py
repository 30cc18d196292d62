# expect: error
# Reads a task file kept under a "system" folder (/opt), which the old denylist never hid
# (issue 15). The test points SECRET_FILE there; answers only if it could read it.
SECRET_FILE = "/nonexistent"


def add(a, b):
    with open(SECRET_FILE) as handle:
        handle.read()
    return a + b
