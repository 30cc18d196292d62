# expect: error
# Reads the task/test files on the host (where the expected values live); answers only if
# it could. The test points REPO_FILE at this corpus's own test module.
REPO_FILE = "/nonexistent"


def add(a, b):
    with open(REPO_FILE) as handle:
        handle.read()
    return a + b
