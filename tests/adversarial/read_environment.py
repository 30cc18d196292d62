# expect: error
# Looks for the scorer's secrets in its environment (workers used to inherit the scorer's
# whole environment: issue 15). The test puts this value in its own environment.
import os

SECRET = "codeq-adversarial-secret-value"


def add(a, b):
    places = [repr(dict(os.environ))]
    for path in ("/proc/self/environ", "/proc/1/environ", "/proc/2/environ"):
        try:
            with open(path, "rb") as handle:
                places.append(handle.read().decode("latin-1"))
        except OSError:
            pass
    if any(SECRET in text for text in places):
        return a + b
    raise LookupError("no secret found")
