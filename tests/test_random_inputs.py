"""Random inputs (codeq_lib.data.random_inputs): constraint and relation parsing, value specs,
drawing values that follow them, seeded distinct argument lists."""

from __future__ import annotations

import json
import random

from codeq_lib.data import random_inputs as ri


def test_constraints_parsing():
    bounds = ri.parse_constraints("1 <= nums.length <= 104\n-109 <= nums[i] <= 109\n1 <= m, n <= 2 * 100\n"
                                  "The number of nodes in the tree is in the range [0, 104].")
    assert bounds == {"nums.length": (1, 104), "nums[i]": (-109, 109), "m": (1, 200), "n": (1, 200),
                      "nodes": (0, 104)}


def test_value_spec_reads_constraints_and_examples():
    spec = ri.value_spec("nums", "List[int]", [[1, 3, 5, 7], [2, 4]],
                         "1 <= nums.length <= 3000\n-5 <= nums[i] <= 10\nnums is sorted in ascending order.\n"
                         "All values of nums are unique.")
    assert (spec.kind, spec.int_range, spec.len_range, spec.sorted, spec.distinct) == \
        ("list_int", (-5, 10), (1, 8), True, True)
    text = ri.value_spec("s", "str", ["(*)"], "s[i] is '(', ')' or '*'.")
    assert (text.kind, text.charset) == ("str", "()*")
    grid = ri.value_spec("edges", None, [[[0, 1], [1, 2]], [[3, 4]]], "")
    assert (grid.kind, grid.inner_len) == ("grid_int", (2, 2))
    assert ri.value_spec("x", None, [{"a": 1}], "") is None


def test_random_values_follow_their_spec():
    rng = random.Random(0)
    for _ in range(200):
        spec = ri.ValueSpec(kind="list_int", int_range=(-3, 3), len_range=(2, 5), sorted=True)
        value = ri.draw_value(rng, spec)
        assert 2 <= len(value) <= 5 and value == sorted(value) and all(-3 <= v <= 3 for v in value)
        bst = ri.draw_value(rng, ri.ValueSpec(kind="tree", int_range=(0, 50), len_range=(1, 7), bst=True))
        assert 1 <= len([v for v in bst if v is not None]) <= 7 and bst[-1] is not None
        assert _inorder(bst) == sorted(_inorder(bst))
        word = ri.draw_value(rng, ri.ValueSpec(kind="str", len_range=(0, 3), charset="01"))
        assert set(word) <= {"0", "1"} and len(word) <= 3
        grid = ri.draw_value(rng, ri.ValueSpec(kind="grid_int", len_range=(1, 4), inner_len=(2, 2)))
        assert all(len(row) == 2 for row in grid)
        square = ri.draw_value(rng, ri.ValueSpec(kind="grid_str", len_range=(1, 4), charset="x."))
        assert all(len(row) == len(square) for row in square)


def _inorder(level_order: list) -> list:
    """In-order values of a LeetCode level-order tree encoding."""
    if not level_order:
        return []
    nodes = [[level_order[0], None, None]]
    queue, index = [nodes[0]], 1
    for node in queue:
        for side in (1, 2):
            if index < len(level_order) and level_order[index] is not None:
                node[side] = [level_order[index], None, None]
                queue.append(node[side])
            index += 1
    out = []

    def walk(node):
        if node:
            walk(node[1]); out.append(node[0]); walk(node[2])
    walk(nodes[0])
    return out


def test_random_inputs_are_seeded_distinct_and_avoid_examples():
    specs = [ri.ValueSpec(kind="int", int_range=(0, 3))]
    first = ri.random_inputs(specs, 3, random.Random("0:slug"), avoid=[[0]])
    assert first == ri.random_inputs(specs, 3, random.Random("0:slug"), avoid=[[0]])
    assert len(first) == 3 and [0] not in first and len({json.dumps(a) for a in first}) == 3
    assert len(ri.random_inputs(specs, 10, random.Random(0))) == 4  # only 4 values exist


def test_relations_keep_indices_inside_their_list():
    constraints = "n == edges.length\n-1 <= edges[i] < n\n0 <= node1, node2 < n\n1 <= k <= nums.length"
    relations = ri.parse_relations(constraints)
    assert relations["node1"] == ri.Relation(lo=0, ref="edges", length=True, offset=-1)
    assert relations["edges[i]"] == ri.Relation(lo=-1, ref="edges", length=True, offset=-1)
    assert relations["k"] == ri.Relation(lo=1, ref="nums", length=True, offset=0)
    specs = [ri.value_spec("edges", "List[int]", [[2, 2, 3, -1]], constraints),
             ri.value_spec("node1", "int", [0], constraints), ri.value_spec("node2", "int", [1], constraints)]
    for edges, node1, node2 in ri.random_inputs(specs, 20, random.Random(0)):
        assert 0 <= node1 < len(edges) and 0 <= node2 < len(edges)
        assert all(-1 <= e < len(edges) for e in edges)


def test_docstring_examples_hold():
    import doctest

    assert doctest.testmod(ri).failed == 0


def test_edge_values_cover_empty_single_long_and_extremes():
    rng = random.Random(0)
    nums = ri.value_spec("nums", None, [[3, 1, 2], [5, 4]], "")  # no constraints (MBPP): empty allowed
    values = ri.edge_values(nums, rng)
    assert [] in values and any(len(v) == 1 for v in values) and max(map(len, values)) == ri.LONG_LEN
    lo, hi = nums.int_range
    assert any(len(v) > 1 and set(v) <= {lo, hi} for v in values)  # a list of extremes
    bounded = ri.value_spec("nums", "List[int]", [[1, 2]], "2 <= nums.length <= 50\n0 <= nums[i] <= 9")
    sizes = sorted(len(v) for v in ri.edge_values(bounded, rng))
    assert sizes[0] == 2 and sizes[-1] == ri.LONG_LEN  # the constraint's shortest; long capped at LONG_LEN
    assert ri.edge_values(ri.value_spec("k", "int", [3], "1 <= k <= 7"), rng) == [1, 7]


def test_edge_inputs_keep_relations_and_avoid_known_inputs():
    constraints = "1 <= nums.length <= 20\n1 <= k <= nums.length"
    specs = [ri.value_spec("nums", "List[int]", [[4, 5, 6]], constraints), ri.value_spec("k", "int", [2], constraints)]
    known = [[[4, 5, 6], 2]]
    edges = ri.edge_inputs(specs, random.Random(1), known)
    assert edges == ri.edge_inputs(specs, random.Random(1), known)  # seeded
    assert known[0] not in edges and len({json.dumps(e) for e in edges}) == len(edges)
    assert all(1 <= k <= len(nums) for nums, k in edges)
    assert max(len(nums) for nums, _ in edges) == 20 and min(len(nums) for nums, _ in edges) == 1
    assert not ri.relations_hold([[1, 2], 5], specs) and ri.relations_hold([[1, 2], 2], specs)
