# expect: fail
# Hunts the harness's memory, frames and files for the expected values.
import gc
import sys


def _search():
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "expected" in obj:
            return obj["expected"]
    frame = sys._getframe()
    while frame is not None:
        for value in frame.f_locals.values():
            if isinstance(value, dict) and "expected" in value:
                return value["expected"]
        frame = frame.f_back
    return "nothing found"


def add(a, b):
    return _search()
