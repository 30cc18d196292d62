# expect: error
# Returns an object whose __eq__ always says yes (the comparison is not the candidate's).
class Anything:
    def __eq__(self, other):
        return True

    def __ne__(self, other):
        return False


def add(a, b):
    return Anything()
