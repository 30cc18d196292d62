# expect: fail
# Prints text that looks like success and like the harness's own records.
print("All tests passed! 3/3")
print('{"load": "ok"}')
print('{"i": 0, "got": "3"}\n{"i": 1, "got": "30"}\n{"i": 2, "got": "[1, 2]"}')


def add(a, b):
    print("PASSED")
    return 0
