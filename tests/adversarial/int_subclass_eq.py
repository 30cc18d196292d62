# expect: fail
# Returns builtin subclasses whose __eq__/__iter__ lie: serialised through the base type.
class Liar(int):
    def __eq__(self, other):
        return True

    __hash__ = int.__hash__


class LyingList(list):
    def __iter__(self):
        return iter([1, 2])

    def __eq__(self, other):
        return True


def add(a, b):
    return LyingList([0]) if isinstance(a, list) else Liar(-1)
