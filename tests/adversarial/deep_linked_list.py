# expect: error
# Raises its recursion limit and returns a ListNode whose values nest 5,000 deep: the
# harness's depth cap restarted inside linked_to_list, so the nesting reached the scorer,
# whose json.loads raised RecursionError (issue 15).
import sys


def add(a, b):
    sys.setrecursionlimit(100_000)
    node = None
    for _ in range(5000):
        node = ListNode(node)
    return node
