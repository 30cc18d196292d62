# expect: fail
# Monkey-patches builtins, json and the harness so every answer serialises as 3.
import builtins
import json
import sys

builtins.isinstance = lambda *args: True
json.dumps = lambda *args, **kwargs: "3"
for module in list(sys.modules.values()):
    if hasattr(module, "serialise_result"):
        module.serialise_result = lambda *args: "3"
        module._dumps = lambda *args, **kwargs: "3"


def add(a, b):
    return None
