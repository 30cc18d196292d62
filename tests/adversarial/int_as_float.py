# expect: fail
# Returns a wrong number as a float: a relative (or absolute) tolerance used to apply
# whenever either side was a float, so an int answer was matched loosely (issue 15).


def add(a, b):
    if isinstance(a, list):
        return a + b
    return float(a + b) + 1e-6
