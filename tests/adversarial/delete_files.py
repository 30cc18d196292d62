# expect: fail
# Tries to delete host files (the test puts the target path in CANARY_PATH).
import os
import shutil

CANARY_PATH = "/nonexistent"


def add(a, b):
    for path in (CANARY_PATH, "/etc/hostname", os.path.dirname(CANARY_PATH)):
        try:
            os.remove(path)
        except OSError:
            shutil.rmtree(path, ignore_errors=True)
    return None
