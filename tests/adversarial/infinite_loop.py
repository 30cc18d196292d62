# expect: timeout
# An infinite loop inside the entry point: killed at the wall-clock deadline.
def add(a, b):
    while True:
        pass
