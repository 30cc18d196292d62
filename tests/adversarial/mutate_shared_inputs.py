# expect: fail
# Mutates its inputs and everything reachable from the harness, hoping the next test or
# the next candidate sees the damage; answers wrongly itself.
import gc


def add(a, b):
    if isinstance(a, list):
        a.append("poison")
    for obj in gc.get_objects():
        if isinstance(obj, dict) and "tests" in obj and isinstance(obj["tests"], list):
            obj["tests"][:] = ['{"args": [0, 0]}'] * len(obj["tests"])
    return "poisoned"
