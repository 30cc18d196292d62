"""The curriculum's data: small functions written for codeq, each with 2-3 seeded bugs.

One dict per function (`problem`, the split unit): the problem statement a user would
write, the reference fix, the tests as `(args, expected)` (the first `visible`, default 3,
are shown to the search; all of them are the hidden tests) and the bugs, one small dict
each with its DebugBench category and minor type. A bug may override the function's
difficulty. Each bug fails at least one visible test, so search has a signal to follow.

Expected values come from the reference (`python -m codeq_lib.data.curriculum fill`) and are
checked by tests/test_curriculum.py; `codeq_lib/data/curriculum.py` builds the tasks.
"""

EASY = [
    {
        "problem": "add",
        "entry_point": "add",
        "difficulty": "easy",
        "description": "Write a function add(a, b) that returns the sum of the two numbers a and b.",
        "reference": '''
def add(a, b):
    return a + b
''',
        "visible": 2,
        "tests": [
            ([1, 2], 3),
            ([-3, 5], 2),
            ([0, 0], 0),
            ([-2, -7], -9),
            ([100, 250], 350),
            ([7, 0], 7),
            ([1.5, 2.25], 3.75),
            ([1000000, 1], 1000001),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "wrong operator", "code": '''
def add(a, b):
    return a - b
'''},
            {"category": "syntax", "minor_type": "missing colon", "code": '''
def add(a, b)
    return a + b
'''},
            {"category": "reference", "minor_type": "undefined name", "code": '''
def add(a, b):
    return a + c
'''},
        ],
    },
    {
        "problem": "max_of_list",
        "entry_point": "max_of_list",
        "difficulty": "easy",
        "description": """Write a function max_of_list(nums) that returns the largest number in the
            list nums, or None when the list is empty. Do not use the built-in max.""",
        "reference": '''
def max_of_list(nums):
    if not nums:
        return None
    largest = nums[0]
    for n in nums:
        if n > largest:
            largest = n
    return largest
''',
        "tests": [
            ([[3, 1, 2]], 3),
            ([[5]], 5),
            ([[-4, -2, -9]], -2),
            ([[]], None),
            ([[1, 1, 1]], 1),
            ([[0, -1]], 0),
            ([[2, 8, 8, 3]], 8),
            ([[-5, 10, -20, 7]], 10),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "wrong initial value", "code": '''
def max_of_list(nums):
    if not nums:
        return None
    largest = 0
    for n in nums:
        if n > largest:
            largest = n
    return largest
'''},
            {"category": "reference", "minor_type": "undefined name", "code": '''
def max_of_list(nums):
    if not nums:
        return None
    largest = nums[0]
    for n in nums:
        if n > largest:
            largest = n
    return largst
'''},
            {"category": "multiple", "minor_type": "faulty indexing + wrong comparison", "code": '''
def max_of_list(nums):
    if not nums:
        return None
    largest = nums[1]
    for n in nums:
        if n < largest:
            largest = n
    return largest
'''},
        ],
    },
    {
        "problem": "count_vowels",
        "entry_point": "count_vowels",
        "difficulty": "easy",
        "description": """Write a function count_vowels(s) that returns how many vowels (a, e, i, o,
            u, in upper or lower case) the string s contains.""",
        "reference": '''
def count_vowels(s):
    count = 0
    for ch in s.lower():
        if ch in "aeiou":
            count += 1
    return count
''',
        "tests": [
            (["hello"], 2),
            (["sky"], 0),
            (["AEIOU"], 5),
            ([""], 0),
            (["Programming"], 3),
            (["a"], 1),
            (["Why Not Eat"], 3),
            (["bcd fgh"], 0),
        ],
        "bugs": [
            {"category": "syntax", "minor_type": "unclosed string", "code": '''
def count_vowels(s):
    count = 0
    for ch in s.lower():
        if ch in "aeiou:
            count += 1
    return count
'''},
            {"category": "logic", "minor_type": "missing case normalisation", "code": '''
def count_vowels(s):
    count = 0
    for ch in s:
        if ch in "aeiou":
            count += 1
    return count
'''},
            {"category": "reference", "minor_type": "undefined method", "code": '''
def count_vowels(s):
    count = 0
    for ch in s.lowercase():
        if ch in "aeiou":
            count += 1
    return count
'''},
        ],
    },
    {
        "problem": "is_even",
        "entry_point": "is_even",
        "difficulty": "easy",
        "description": "Write a function is_even(n) that returns True if the integer n is even and False otherwise.",
        "reference": '''
def is_even(n):
    return n % 2 == 0
''',
        "visible": 2,
        "tests": [
            ([4], True),
            ([7], False),
            ([0], True),
            ([-2], True),
            ([-3], False),
            ([1], False),
            ([100], True),
            ([99], False),
        ],
        "bugs": [
            {"category": "syntax", "minor_type": "= instead of ==", "code": '''
def is_even(n):
    return n % 2 = 0
'''},
            {"category": "logic", "minor_type": "wrong value", "code": '''
def is_even(n):
    return n % 2 == 1
'''},
        ],
    },
    {
        "problem": "sum_list",
        "entry_point": "sum_list",
        "difficulty": "easy",
        "description": """Write a function sum_list(nums) that returns the sum of all numbers in the
            list nums (0 for an empty list) without using the built-in sum.""",
        "reference": '''
def sum_list(nums):
    total = 0
    for i in range(len(nums)):
        total += nums[i]
    return total
''',
        "tests": [
            ([[1, 2, 3]], 6),
            ([[]], 0),
            ([[5]], 5),
            ([[-1, -2, -3]], -6),
            ([[10, -10]], 0),
            ([[0, 0, 0]], 0),
            ([[1.5, 2.5]], 4.0),
            ([[100, 200, 300, 400]], 1000),
        ],
        "bugs": [
            {"category": "reference", "minor_type": "undefined name", "code": '''
def sum_list(nums):
    total = 0
    for i in range(len(nums)):
        total += nums[i]
    return totl
'''},
            {"category": "logic", "minor_type": "off-by-one", "code": '''
def sum_list(nums):
    total = 0
    for i in range(1, len(nums)):
        total += nums[i]
    return total
'''},
            {"category": "multiple", "minor_type": "wrong initial value + off-by-one", "code": '''
def sum_list(nums):
    total = 1
    for i in range(len(nums) - 1):
        total += nums[i]
    return total
'''},
        ],
    },
    {
        "problem": "reverse_string",
        "entry_point": "reverse_string",
        "difficulty": "easy",
        "description": "Write a function reverse_string(s) that returns the string s with its characters in reverse order.",
        "reference": '''
def reverse_string(s):
    return s[::-1]
''',
        "tests": [
            (["abc"], "cba"),
            ([""], ""),
            (["a"], "a"),
            (["racecar"], "racecar"),
            (["hello world"], "dlrow olleh"),
            (["12345"], "54321"),
            (["Ab"], "bA"),
            (["  x"], "x  "),
        ],
        "bugs": [
            {"category": "syntax", "minor_type": "unclosed bracket", "code": '''
def reverse_string(s):
    return s[::-1
'''},
            {"category": "reference", "minor_type": "undefined method", "code": '''
def reverse_string(s):
    return s.reverse()
'''},
            {"category": "multiple", "minor_type": "missing colon + wrong slice step", "code": '''
def reverse_string(s)
    return s[::1]
'''},
        ],
    },
    {
        "problem": "factorial",
        "entry_point": "factorial",
        "difficulty": "easy",
        "description": """Write a function factorial(n) that returns n! (the product 1 * 2 * ... * n)
            for a non-negative integer n; factorial(0) is 1.""",
        "reference": '''
def factorial(n):
    result = 1
    for i in range(2, n + 1):
        result *= i
    return result
''',
        "tests": [
            ([5], 120),
            ([0], 1),
            ([1], 1),
            ([3], 6),
            ([10], 3628800),
            ([2], 2),
            ([7], 5040),
            ([12], 479001600),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "off-by-one", "code": '''
def factorial(n):
    result = 1
    for i in range(2, n):
        result *= i
    return result
'''},
            {"category": "multiple", "minor_type": "wrong initial value + off-by-one", "code": '''
def factorial(n):
    result = 0
    for i in range(1, n):
        result *= i
    return result
'''},
            {"category": "syntax", "minor_type": "bad indentation", "code": '''
def factorial(n):
    result = 1
    for i in range(2, n + 1):
    result *= i
    return result
'''},
        ],
    },
    {
        "problem": "celsius_to_fahrenheit",
        "entry_point": "celsius_to_fahrenheit",
        "difficulty": "easy",
        "description": """Write a function celsius_to_fahrenheit(c) that converts a temperature in
            degrees Celsius to degrees Fahrenheit (F = C * 9 / 5 + 32).""",
        "reference": '''
def celsius_to_fahrenheit(c):
    return c * 9 / 5 + 32
''',
        "visible": 2,
        "tests": [
            ([0], 32.0),
            ([100], 212.0),
            ([-40], -40.0),
            ([37], 98.6),
            ([25], 77.0),
            ([-10], 14.0),
            ([1], 33.8),
            ([36.5], 97.7),
        ],
        "bugs": [
            {"category": "syntax", "minor_type": "unclosed bracket", "code": '''
def celsius_to_fahrenheit(c):
    return (c * 9 / 5 + 32
'''},
            {"category": "reference", "minor_type": "undefined name", "code": '''
def celsius_to_fahrenheit(c):
    return celsius * 9 / 5 + 32
'''},
            {"category": "multiple", "minor_type": "inverted ratio + wrong operator", "code": '''
def celsius_to_fahrenheit(c):
    return c * 5 / 9 - 32
'''},
        ],
    },
    {
        "problem": "count_positive",
        "entry_point": "count_positive",
        "difficulty": "easy",
        "description": """Write a function count_positive(nums) that returns how many numbers in the
            list nums are strictly greater than zero.""",
        "reference": '''
def count_positive(nums):
    count = 0
    for n in nums:
        if n > 0:
            count += 1
    return count
''',
        "tests": [
            ([[1, -2, 3]], 2),
            ([[0, 0]], 0),
            ([[]], 0),
            ([[-1, -5]], 0),
            ([[7]], 1),
            ([[0, 1, 2, 3]], 3),
            ([[-3, 0, 3]], 1),
            ([[2, 2, 2, 2, 2]], 5),
        ],
        "bugs": [
            {"category": "multiple", "minor_type": "wrong comparison + wrong operator", "code": '''
def count_positive(nums):
    count = 0
    for n in nums:
        if n >= 0:
            count =+ 1
    return count
'''},
            {"category": "reference", "minor_type": "undefined name", "code": '''
def count_positive(nums):
    count = 0
    for n in num:
        if n > 0:
            count += 1
    return count
'''},
        ],
    },
    {
        "problem": "count_occurrences",
        "entry_point": "count_occurrences",
        "difficulty": "easy",
        "description": """Write a function count_occurrences(nums, target) that returns how many times
            target appears in the list nums.""",
        "reference": '''
def count_occurrences(nums, target):
    count = 0
    for n in nums:
        if n == target:
            count += 1
    return count
''',
        "tests": [
            ([[1, 2, 1, 3], 1], 2),
            ([[4, 5], 6], 0),
            ([[], 3], 0),
            ([[7], 7], 1),
            ([[0, 0, 0], 0], 3),
            ([[-1, 1, -1], -1], 2),
            ([[2, 3, 4], 3], 1),
            ([[5, 5, 5, 5], 4], 0),
        ],
        "bugs": [
            {"category": "syntax", "minor_type": "= instead of ==", "code": '''
def count_occurrences(nums, target):
    count = 0
    for n in nums:
        if n = target:
            count += 1
    return count
'''},
            {"category": "multiple", "minor_type": "wrong initial value + wrong comparison", "code": '''
def count_occurrences(nums, target):
    count = 1
    for n in nums:
        if n != target:
            count += 1
    return count
'''},
        ],
    },
]

MEDIUM = [
    {
        "problem": "fizzbuzz",
        "entry_point": "fizzbuzz",
        "difficulty": "medium",
        "description": """Write a function fizzbuzz(n) that returns a list of strings for the numbers 1
            to n: "FizzBuzz" for multiples of both 3 and 5, "Fizz" for multiples of 3,
            "Buzz" for multiples of 5, and the number itself as a string otherwise.""",
        "reference": '''
def fizzbuzz(n):
    out = []
    for i in range(1, n + 1):
        if i % 15 == 0:
            out.append("FizzBuzz")
        elif i % 3 == 0:
            out.append("Fizz")
        elif i % 5 == 0:
            out.append("Buzz")
        else:
            out.append(str(i))
    return out
''',
        "tests": [
            ([5], ["1", "2", "Fizz", "4", "Buzz"]),
            ([15], ["1", "2", "Fizz", "4", "Buzz", "Fizz", "7", "8", "Fizz", "Buzz", "11", "Fizz", "13", "14", "FizzBuzz"]),
            ([0], []),
            ([1], ["1"]),
            ([3], ["1", "2", "Fizz"]),
            ([10], ["1", "2", "Fizz", "4", "Buzz", "Fizz", "7", "8", "Fizz", "Buzz"]),
            ([16], ["1", "2", "Fizz", "4", "Buzz", "Fizz", "7", "8", "Fizz", "Buzz", "11", "Fizz", "13", "14", "FizzBuzz", "16"]),
            ([2], ["1", "2"]),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "wrong condition order", "code": '''
def fizzbuzz(n):
    out = []
    for i in range(1, n + 1):
        if i % 3 == 0:
            out.append("Fizz")
        elif i % 5 == 0:
            out.append("Buzz")
        elif i % 15 == 0:
            out.append("FizzBuzz")
        else:
            out.append(str(i))
    return out
'''},
            {"category": "syntax", "minor_type": "missing colon", "code": '''
def fizzbuzz(n):
    out = []
    for i in range(1, n + 1):
        if i % 15 == 0:
            out.append("FizzBuzz")
        elif i % 3 == 0:
            out.append("Fizz")
        elif i % 5 == 0
            out.append("Buzz")
        else:
            out.append(str(i))
    return out
'''},
            {"category": "reference", "minor_type": "undefined method", "code": '''
def fizzbuzz(n):
    out = []
    for i in range(1, n + 1):
        if i % 15 == 0:
            out.append("FizzBuzz")
        elif i % 3 == 0:
            out.add("Fizz")
        elif i % 5 == 0:
            out.append("Buzz")
        else:
            out.append(str(i))
    return out
'''},
        ],
    },
    {
        "problem": "isPalindrome",
        "entry_point": "Solution.isPalindrome",
        "difficulty": "medium",
        "description": """Given a string s, return true if it is a palindrome after converting all
            uppercase letters to lowercase and removing every character that is not a letter
            or a digit, and false otherwise. An empty string is a palindrome.""",
        "reference": '''
class Solution:
    def isPalindrome(self, s: str) -> bool:
        cleaned = [ch.lower() for ch in s if ch.isalnum()]
        left, right = 0, len(cleaned) - 1
        while left < right:
            if cleaned[left] != cleaned[right]:
                return False
            left += 1
            right -= 1
        return True
''',
        "tests": [
            (["A man, a plan, a canal: Panama"], True),
            (["race a car"], False),
            ([""], True),
            (["a"], True),
            (["ab"], False),
            (["No lemon, no melon"], True),
            (["0P"], False),
            (["Was it a car or a cat I saw?"], True),
            (["abca"], False),
        ],
        "bugs": [
            {"category": "reference", "minor_type": "faulty indexing", "code": '''
class Solution:
    def isPalindrome(self, s: str) -> bool:
        cleaned = [ch.lower() for ch in s if ch.isalnum()]
        left, right = 0, len(cleaned)
        while left < right:
            if cleaned[left] != cleaned[right]:
                return False
            left += 1
            right -= 1
        return True
'''},
            {"category": "logic", "minor_type": "missing case normalisation", "code": '''
class Solution:
    def isPalindrome(self, s: str) -> bool:
        cleaned = [ch for ch in s if ch.isalnum()]
        left, right = 0, len(cleaned) - 1
        while left < right:
            if cleaned[left] != cleaned[right]:
                return False
            left += 1
            right -= 1
        return True
'''},
            {"category": "multiple", "minor_type": "wrong filter + missing case normalisation", "code": '''
class Solution:
    def isPalindrome(self, s: str) -> bool:
        cleaned = [ch for ch in s if ch.isalpha()]
        left, right = 0, len(cleaned) - 1
        while left < right:
            if cleaned[left] != cleaned[right]:
                return False
            left += 1
            right -= 1
        return True
'''},
        ],
    },
    {
        "problem": "second_largest",
        "entry_point": "second_largest",
        "difficulty": "medium",
        "description": """Write a function second_largest(nums) that returns the second largest
            distinct value in the list nums, or None if the list has fewer than two distinct
            values.""",
        "reference": '''
def second_largest(nums):
    distinct = sorted(set(nums), reverse=True)
    if len(distinct) < 2:
        return None
    return distinct[1]
''',
        "tests": [
            ([[3, 1, 2]], 2),
            ([[5, 5, 4]], 4),
            ([[7]], None),
            ([[]], None),
            ([[2, 2]], None),
            ([[-1, -5, -3]], -3),
            ([[10, 20]], 10),
            ([[1, 2, 3, 4, 5]], 4),
        ],
        "bugs": [
            {"category": "reference", "minor_type": "illegal keyword", "code": '''
def second_largest(nums):
    distinct = sorted(set(nums), reversed=True)
    if len(distinct) < 2:
        return None
    return distinct[1]
'''},
            {"category": "logic", "minor_type": "wrong condition", "code": '''
def second_largest(nums):
    distinct = sorted(set(nums), reverse=True)
    if len(distinct) < 1:
        return None
    return distinct[1]
'''},
            {"category": "syntax", "minor_type": "unclosed bracket", "code": '''
def second_largest(nums):
    distinct = sorted(set(nums), reverse=True
    if len(distinct) < 2:
        return None
    return distinct[1]
'''},
        ],
    },
    {
        "problem": "count_words",
        "entry_point": "count_words",
        "difficulty": "medium",
        "description": """Write a function count_words(text) that splits text on whitespace and
            returns a dictionary mapping each word, lower-cased, to the number of times it
            occurs.""",
        "reference": '''
def count_words(text):
    counts = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 0) + 1
    return counts
''',
        "tests": [
            (["the cat the hat"], {"the": 2, "cat": 1, "hat": 1}),
            (["Hello hello HELLO"], {"hello": 3}),
            ([""], {}),
            (["one"], {"one": 1}),
            (["a b c a b a"], {"a": 3, "b": 2, "c": 1}),
            (["  spaced   out  "], {"spaced": 1, "out": 1}),
            (["Dog dog cat"], {"dog": 2, "cat": 1}),
            (["x\ny\tx"], {"x": 2, "y": 1}),
        ],
        "bugs": [
            {"category": "reference", "minor_type": "undefined method", "code": '''
def count_words(text):
    counts = {}
    for word in text.lower().split():
        counts[word] = counts.getdefault(word, 0) + 1
    return counts
'''},
            {"category": "logic", "minor_type": "wrong initial value", "code": '''
def count_words(text):
    counts = {}
    for word in text.lower().split():
        counts[word] = counts.get(word, 1) + 1
    return counts
'''},
            {"category": "multiple", "minor_type": "wrong separator + wrong initial value", "code": '''
def count_words(text):
    counts = {}
    for word in text.lower().split(" "):
        counts[word] = counts.get(word, 1) + 1
    return counts
'''},
        ],
    },
    {
        "problem": "fibonacci",
        "entry_point": "fibonacci",
        "difficulty": "medium",
        "description": """Write a function fibonacci(n) that returns the n-th Fibonacci number, where
            fibonacci(0) is 0, fibonacci(1) is 1 and every later number is the sum of the two
            before it.""",
        "reference": '''
def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
    return a
''',
        "tests": [
            ([0], 0),
            ([1], 1),
            ([10], 55),
            ([2], 1),
            ([5], 5),
            ([20], 6765),
            ([3], 2),
            ([30], 832040),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "wrong initial value", "code": '''
def fibonacci(n):
    a, b = 1, 1
    for _ in range(n):
        a, b = b, a + b
    return a
'''},
            {"category": "syntax", "minor_type": "bad indentation", "code": '''
def fibonacci(n):
    a, b = 0, 1
    for _ in range(n):
        a, b = b, a + b
      return a
'''},
            {"category": "multiple", "minor_type": "missing colon + wrong variable", "code": '''
def fibonacci(n):
    a, b = 0, 1
    for _ in range(n)
        a, b = b, a + b
    return b
'''},
        ],
    },
    {
        "problem": "remove_duplicates",
        "entry_point": "remove_duplicates",
        "difficulty": "medium",
        "description": """Write a function remove_duplicates(nums) that returns a new list with the
            repeated values of nums removed, keeping the first occurrence of each value in
            its original order.""",
        "reference": '''
def remove_duplicates(nums):
    seen = set()
    out = []
    for n in nums:
        if n not in seen:
            seen.add(n)
            out.append(n)
    return out
''',
        "tests": [
            ([[1, 2, 2, 3]], [1, 2, 3]),
            ([[3, 1, 3, 2, 1]], [3, 1, 2]),
            ([[]], []),
            ([[5, 5, 5]], [5]),
            ([[1]], [1]),
            ([[-1, -1, 0]], [-1, 0]),
            ([[4, 3, 2, 1]], [4, 3, 2, 1]),
            ([[1, 2, 1, 2, 1, 2]], [1, 2]),
        ],
        "bugs": [
            {"category": "reference", "minor_type": "undefined method", "code": '''
def remove_duplicates(nums):
    seen = set()
    out = []
    for n in nums:
        if n not in seen:
            seen.append(n)
            out.append(n)
    return out
'''},
            {"category": "logic", "minor_type": "wrong condition", "code": '''
def remove_duplicates(nums):
    seen = set()
    out = []
    for n in nums:
        if n in seen:
            seen.add(n)
            out.append(n)
    return out
'''},
            {"category": "multiple", "minor_type": "undefined name + missing return", "code": '''
def remove_duplicates(nums):
    seen = set()
    out = []
    for n in nums:
        if n not in sen:
            seen.add(n)
            out.append(n)
'''},
        ],
    },
    {
        "problem": "twoSum",
        "entry_point": "Solution.twoSum",
        "difficulty": "medium",
        "description": """Given an array of integers nums and an integer target, return the indices
            [i, j] with i < j of the two numbers that add up to target. Each input has exactly
            one solution, and the same element may not be used twice.""",
        "reference": '''
class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        index_of = {}
        for i, num in enumerate(nums):
            need = target - num
            if need in index_of:
                return [index_of[need], i]
            index_of[num] = i
        return []
''',
        "tests": [
            ([[2, 7, 11, 15], 9], [0, 1]),
            ([[3, 2, 4], 6], [1, 2]),
            ([[3, 3], 6], [0, 1]),
            ([[1, 5, -2, 8], -1], [0, 2]),
            ([[0, 4, 3, 0], 0], [0, 3]),
            ([[-1, -2, -3, -4, -5], -8], [2, 4]),
            ([[1, 2], 3], [0, 1]),
            ([[5, 75, 25], 100], [1, 2]),
        ],
        "bugs": [
            {"category": "syntax", "minor_type": "missing colon", "code": '''
class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        index_of = {}
        for i, num in enumerate(nums)
            need = target - num
            if need in index_of:
                return [index_of[need], i]
            index_of[num] = i
        return []
'''},
            {"category": "logic", "minor_type": "wrong statement order", "code": '''
class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        index_of = {}
        for i, num in enumerate(nums):
            need = target - num
            index_of[num] = i
            if need in index_of:
                return [index_of[need], i]
        return []
'''},
            {"category": "multiple", "minor_type": "wrong operand order + swapped result", "code": '''
class Solution:
    def twoSum(self, nums: List[int], target: int) -> List[int]:
        index_of = {}
        for i, num in enumerate(nums):
            need = num - target
            if need in index_of:
                return [i, index_of[need]]
            index_of[num] = i
        return []
'''},
        ],
    },
    {
        "problem": "digit_sum",
        "entry_point": "digit_sum",
        "difficulty": "medium",
        "description": """Write a function digit_sum(n) that returns the sum of the decimal digits of
            the integer n, ignoring its sign (digit_sum(-45) is 9).""",
        "reference": '''
def digit_sum(n):
    n = abs(n)
    total = 0
    while n > 0:
        total += n % 10
        n //= 10
    return total
''',
        "tests": [
            ([123], 6),
            ([-45], 9),
            ([0], 0),
            ([9], 9),
            ([1000], 1),
            ([99999], 45),
            ([-7], 7),
            ([5050], 10),
        ],
        "bugs": [
            {"category": "syntax", "minor_type": "unclosed bracket", "code": '''
def digit_sum(n):
    n = abs(n
    total = 0
    while n > 0:
        total += n % 10
        n //= 10
    return total
'''},
            {"category": "reference", "minor_type": "undefined name", "code": '''
def digit_sum(n):
    n = absolute(n)
    total = 0
    while n > 0:
        total += n % 10
        n //= 10
    return total
'''},
            {"category": "multiple", "minor_type": "missing abs + wrong modulus", "code": '''
def digit_sum(n):
    total = 0
    while n > 0:
        total += n % 100
        n //= 10
    return total
'''},
        ],
    },
    {
        "problem": "is_prime",
        "entry_point": "is_prime",
        "difficulty": "medium",
        "description": """Write a function is_prime(n) that returns True if the integer n is a prime
            number and False otherwise (numbers below 2 are not prime).""",
        "reference": '''
def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return False
        i += 1
    return True
''',
        "tests": [
            ([2], True),
            ([1], False),
            ([9], False),
            ([0], False),
            ([-7], False),
            ([17], True),
            ([25], False),
            ([97], True),
            ([4], False),
        ],
        "bugs": [
            {"category": "syntax", "minor_type": "= instead of ==", "code": '''
def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i = 0:
            return False
        i += 1
    return True
'''},
            {"category": "reference", "minor_type": "undefined name", "code": '''
def is_prime(n):
    if n < 2:
        return False
    i = 2
    while i * i <= n:
        if n % i == 0:
            return Flase
        i += 1
    return True
'''},
        ],
    },
    {
        "problem": "gcd",
        "entry_point": "gcd",
        "difficulty": "medium",
        "description": """Write a function gcd(a, b) that returns the greatest common divisor of the
            integers a and b as a non-negative number, using Euclid's algorithm; gcd(0, 0) is 0.""",
        "reference": '''
def gcd(a, b):
    a, b = abs(a), abs(b)
    while b:
        a, b = b, a % b
    return a
''',
        "tests": [
            ([12, 18], 6),
            ([7, 5], 1),
            ([0, 9], 9),
            ([9, 0], 9),
            ([-12, 8], 4),
            ([100, 75], 25),
            ([17, 17], 17),
            ([0, 0], 0),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "wrong variable returned", "code": '''
def gcd(a, b):
    a, b = abs(a), abs(b)
    while b:
        a, b = b, a % b
    return b
'''},
            {"category": "multiple", "minor_type": "missing colon + wrong variable returned", "code": '''
def gcd(a, b):
    a, b = abs(a), abs(b)
    while b
        a, b = b, a % b
    return b
'''},
        ],
    },
]

HARD = [
    {
        "problem": "binary_search",
        "entry_point": "binary_search",
        "difficulty": "hard",
        "description": """Write a function binary_search(nums, target) that returns the index of
            target in the sorted list of distinct integers nums, or -1 if it is not there, in
            O(log n) time.""",
        "reference": '''
def binary_search(nums, target):
    lo, hi = 0, len(nums) - 1
    while lo <= hi:
        mid = (lo + hi) // 2
        if nums[mid] == target:
            return mid
        if nums[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
''',
        "tests": [
            ([[1, 3, 5, 7, 9], 7], 3),
            ([[1, 3, 5, 7, 9], 10], -1),
            ([[5], 5], 0),
            ([[], 1], -1),
            ([[5], 6], -1),
            ([[1, 3, 5, 7, 9], 1], 0),
            ([[1, 3, 5, 7, 9], 9], 4),
            ([[1, 3, 5, 7, 9], 4], -1),
            ([[-10, -3, 0, 2], -3], 1),
            ([[2, 4], 4], 1),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "off-by-one loop condition", "code": '''
def binary_search(nums, target):
    lo, hi = 0, len(nums) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if nums[mid] == target:
            return mid
        if nums[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
'''},
            {"category": "reference", "minor_type": "faulty indexing", "code": '''
def binary_search(nums, target):
    lo, hi = 0, len(nums)
    while lo <= hi:
        mid = (lo + hi) // 2
        if nums[mid] == target:
            return mid
        if nums[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
'''},
            {"category": "multiple", "minor_type": "float division + off-by-one", "code": '''
def binary_search(nums, target):
    lo, hi = 0, len(nums) - 1
    while lo < hi:
        mid = (lo + hi) / 2
        if nums[mid] == target:
            return mid
        if nums[mid] < target:
            lo = mid + 1
        else:
            hi = mid - 1
    return -1
'''},
        ],
    },
    {
        "problem": "run_length_encode",
        "entry_point": "run_length_encode",
        "difficulty": "hard",
        "description": """Write a function run_length_encode(s) that compresses the string s by
            replacing each run of equal consecutive characters with the character followed by
            the run length, e.g. "aaabbc" becomes "a3b2c1". The empty string encodes to "".""",
        "reference": '''
def run_length_encode(s):
    if not s:
        return ""
    out = []
    current, count = s[0], 1
    for ch in s[1:]:
        if ch == current:
            count += 1
        else:
            out.append(current + str(count))
            current, count = ch, 1
    out.append(current + str(count))
    return "".join(out)
''',
        "tests": [
            (["aaabbc"], "a3b2c1"),
            (["abc"], "a1b1c1"),
            ([""], ""),
            (["a"], "a1"),
            (["aaaa"], "a4"),
            (["aabbaa"], "a2b2a2"),
            (["zzzzzzzzzzzz"], "z12"),
            (["abbbbbbbbbbc"], "a1b10c1"),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "missing final run", "code": '''
def run_length_encode(s):
    if not s:
        return ""
    out = []
    current, count = s[0], 1
    for ch in s[1:]:
        if ch == current:
            count += 1
        else:
            out.append(current + str(count))
            current, count = ch, 1
    return "".join(out)
'''},
            {"category": "syntax", "minor_type": "unclosed string", "code": '''
def run_length_encode(s):
    if not s:
        return ""
    out = []
    current, count = s[0], 1
    for ch in s[1:]:
        if ch == current:
            count += 1
        else:
            out.append(current + str(count))
            current, count = ch, 1
    out.append(current + str(count))
    return ".join(out)
'''},
            {"category": "multiple", "minor_type": "missing str conversion + wrong reset value", "code": '''
def run_length_encode(s):
    if not s:
        return ""
    out = []
    current, count = s[0], 1
    for ch in s[1:]:
        if ch == current:
            count += 1
        else:
            out.append(current + count)
            current, count = ch, 0
    out.append(current + str(count))
    return "".join(out)
'''},
        ],
    },
    {
        "problem": "transpose",
        "entry_point": "transpose",
        "difficulty": "hard",
        "description": """Write a function transpose(matrix) that returns the transpose of a
            rectangular matrix given as a list of rows (row i of the result is column i of the
            input). The transpose of an empty matrix is an empty list.""",
        "reference": '''
def transpose(matrix):
    if not matrix:
        return []
    rows, cols = len(matrix), len(matrix[0])
    result = []
    for c in range(cols):
        new_row = []
        for r in range(rows):
            new_row.append(matrix[r][c])
        result.append(new_row)
    return result
''',
        "tests": [
            ([[[1, 2, 3], [4, 5, 6]]], [[1, 4], [2, 5], [3, 6]]),
            ([[[1, 2], [3, 4]]], [[1, 3], [2, 4]]),
            ([[]], []),
            ([[[1]]], [[1]]),
            ([[[1, 2]]], [[1], [2]]),
            ([[[1], [2], [3]]], [[1, 2, 3]]),
            ([[[0, -1, 2], [3, 4, -5], [6, 7, 8]]], [[0, 3, 6], [-1, 4, 7], [2, -5, 8]]),
            ([[[1, 2, 3, 4], [5, 6, 7, 8]]], [[1, 5], [2, 6], [3, 7], [4, 8]]),
        ],
        "bugs": [
            {"category": "reference", "minor_type": "faulty indexing", "code": '''
def transpose(matrix):
    if not matrix:
        return []
    rows, cols = len(matrix), len(matrix[0])
    result = []
    for c in range(cols):
        new_row = []
        for r in range(rows):
            new_row.append(matrix[c][r])
        result.append(new_row)
    return result
'''},
            {"category": "syntax", "minor_type": "bad indentation", "code": '''
def transpose(matrix):
    if not matrix:
        return []
    rows, cols = len(matrix), len(matrix[0])
    result = []
    for c in range(cols):
        new_row = []
        for r in range(rows):
            new_row.append(matrix[r][c])
      result.append(new_row)
    return result
'''},
            {"category": "logic", "minor_type": "swapped variables", "code": '''
def transpose(matrix):
    if not matrix:
        return []
    rows, cols = len(matrix[0]), len(matrix)
    result = []
    for c in range(cols):
        new_row = []
        for r in range(rows):
            new_row.append(matrix[r][c])
        result.append(new_row)
    return result
'''},
        ],
    },
    {
        "problem": "is_balanced",
        "entry_point": "is_balanced",
        "difficulty": "hard",
        "description": """Write a function is_balanced(s) that returns True if every bracket in the
            string s ((), [] and {}) is closed by the matching bracket in the right order, and
            False otherwise. Characters other than brackets are ignored.""",
        "reference": '''
def is_balanced(s):
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    for ch in s:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack[-1] != pairs[ch]:
                return False
            stack.pop()
    return not stack
''',
        "tests": [
            (["()"], True),
            (["([)]"], False),
            (["{[()()]}"], True),
            ([""], True),
            (["(("], False),
            (["))"], False),
            (["a(b)c"], True),
            (["(]"], False),
            (["([]{})"], True),
            (["}"], False),
        ],
        "bugs": [
            {"category": "reference", "minor_type": "faulty indexing", "code": '''
def is_balanced(s):
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    for ch in s:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack or stack[0] != pairs[ch]:
                return False
            stack.pop()
    return not stack
'''},
            {"category": "multiple", "minor_type": "wrong boolean operator + wrong return", "code": '''
def is_balanced(s):
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    for ch in s:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs:
            if not stack and stack[-1] != pairs[ch]:
                return False
            stack.pop()
    return True
'''},
            {"category": "syntax", "minor_type": "missing colon", "code": '''
def is_balanced(s):
    pairs = {")": "(", "]": "[", "}": "{"}
    stack = []
    for ch in s:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs
            if not stack or stack[-1] != pairs[ch]:
                return False
            stack.pop()
    return not stack
'''},
        ],
    },
    {
        "problem": "merge_intervals",
        "entry_point": "merge_intervals",
        "difficulty": "hard",
        "description": """Write a function merge_intervals(intervals) that takes a list of [start, end]
            intervals in any order, merges every group of overlapping intervals (intervals that
            touch, like [1, 4] and [4, 5], overlap) and returns the merged intervals sorted by
            start.""",
        "reference": '''
def merge_intervals(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
''',
        "tests": [
            ([[[1, 3], [2, 6], [8, 10], [15, 18]]], [[1, 6], [8, 10], [15, 18]]),
            ([[[1, 4], [4, 5]]], [[1, 5]]),
            ([[[3, 4], [1, 2]]], [[1, 2], [3, 4]]),
            ([[[5, 7]]], [[5, 7]]),
            ([[[1, 10], [2, 3]]], [[1, 10]]),
            ([[]], []),
            ([[[1, 4], [0, 0]]], [[0, 0], [1, 4]]),
            ([[[-5, -1], [-3, 2], [4, 6]]], [[-5, 2], [4, 6]]),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "wrong comparison", "code": '''
def merge_intervals(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start < merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
'''},
            {"category": "reference", "minor_type": "faulty indexing", "code": '''
def merge_intervals(intervals):
    merged = []
    for start, end in sorted(intervals):
        if merged and start <= merged[-1][1]:
            merged[-1][0] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    return merged
'''},
            {"category": "multiple", "minor_type": "missing sort + missing max", "code": '''
def merge_intervals(intervals):
    merged = []
    for start, end in intervals:
        if merged and start <= merged[-1][1]:
            merged[-1][1] = end
        else:
            merged.append([start, end])
    return merged
'''},
        ],
    },
    {
        "problem": "max_subarray",
        "entry_point": "max_subarray",
        "difficulty": "hard",
        "description": """Write a function max_subarray(nums) that returns the largest sum of a
            non-empty contiguous sub-list of the non-empty list nums.""",
        "reference": '''
def max_subarray(nums):
    best = current = nums[0]
    for n in nums[1:]:
        current = max(n, current + n)
        best = max(best, current)
    return best
''',
        "tests": [
            ([[-2, 1, -3, 4, -1, 2, 1, -5, 4]], 6),
            ([[1]], 1),
            ([[-3, -1, -2]], -1),
            ([[5, 4, -1, 7, 8]], 23),
            ([[0]], 0),
            ([[-1]], -1),
            ([[2, -1, 2]], 3),
            ([[1, 2, 3]], 6),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "wrong initial value", "code": '''
def max_subarray(nums):
    best = current = 0
    for n in nums[1:]:
        current = max(n, current + n)
        best = max(best, current)
    return best
'''},
            {"category": "syntax", "minor_type": "unclosed bracket", "code": '''
def max_subarray(nums):
    best = current = nums[0]
    for n in nums[1:]:
        current = max(n, current + n
        best = max(best, current)
    return best
'''},
            {"category": "multiple", "minor_type": "wrong slice + wrong function", "code": '''
def max_subarray(nums):
    best = current = nums[0]
    for n in nums:
        current = max(n, current + n)
        best = min(best, current)
    return best
'''},
        ],
    },
    {
        "problem": "lengthOfLongestSubstring",
        "entry_point": "Solution.lengthOfLongestSubstring",
        "difficulty": "hard",
        "description": """Given a string s, return the length of the longest substring of s that
            contains no repeated character.""",
        "reference": '''
class Solution:
    def lengthOfLongestSubstring(self, s: str) -> int:
        last_seen = {}
        start = 0
        best = 0
        for i, ch in enumerate(s):
            if ch in last_seen and last_seen[ch] >= start:
                start = last_seen[ch] + 1
            last_seen[ch] = i
            best = max(best, i - start + 1)
        return best
''',
        "tests": [
            (["abcabcbb"], 3),
            (["bbbbb"], 1),
            (["abba"], 2),
            ([""], 0),
            ([" "], 1),
            (["au"], 2),
            (["dvdf"], 3),
            (["pwwkew"], 3),
            (["tmmzuxt"], 5),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "missing condition", "code": '''
class Solution:
    def lengthOfLongestSubstring(self, s: str) -> int:
        last_seen = {}
        start = 0
        best = 0
        for i, ch in enumerate(s):
            if ch in last_seen:
                start = last_seen[ch] + 1
            last_seen[ch] = i
            best = max(best, i - start + 1)
        return best
'''},
            {"category": "reference", "minor_type": "undefined name", "code": '''
class Solution:
    def lengthOfLongestSubstring(self, s: str) -> int:
        last_seen = {}
        start = 0
        best = 0
        for i, ch in enumerate(s):
            if ch in last_seen and last_seen[ch] >= start:
                start = last_seen[ch] + 1
            last_seen[ch] = i
            best = max(best, i - begin + 1)
        return best
'''},
            {"category": "syntax", "minor_type": "bad indentation", "code": '''
class Solution:
    def lengthOfLongestSubstring(self, s: str) -> int:
        last_seen = {}
        start = 0
        best = 0
        for i, ch in enumerate(s):
            if ch in last_seen and last_seen[ch] >= start:
            start = last_seen[ch] + 1
            last_seen[ch] = i
            best = max(best, i - start + 1)
        return best
'''},
        ],
    },
    {
        "problem": "roman_to_int",
        "entry_point": "roman_to_int",
        "difficulty": "hard",
        "description": """Write a function roman_to_int(s) that converts a valid Roman numeral (I, V,
            X, L, C, D, M, with subtractive pairs such as IV and CM) to an integer.""",
        "reference": '''
def roman_to_int(s):
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for i in range(len(s)):
        if i + 1 < len(s) and values[s[i]] < values[s[i + 1]]:
            total -= values[s[i]]
        else:
            total += values[s[i]]
    return total
''',
        "tests": [
            (["III"], 3),
            (["IV"], 4),
            (["MCMXCIV"], 1994),
            (["IX"], 9),
            (["LVIII"], 58),
            (["XL"], 40),
            (["MMXXIV"], 2024),
            (["CDXLIV"], 444),
            (["I"], 1),
        ],
        "bugs": [
            {"category": "reference", "minor_type": "faulty indexing", "code": '''
def roman_to_int(s):
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for i in range(len(s)):
        if values[s[i]] < values[s[i + 1]]:
            total -= values[s[i]]
        else:
            total += values[s[i]]
    return total
'''},
            {"category": "multiple", "minor_type": "wrong comparison + wrong initial value", "code": '''
def roman_to_int(s):
    values = {"I": 1, "V": 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 1
    for i in range(len(s)):
        if i + 1 < len(s) and values[s[i]] > values[s[i + 1]]:
            total -= values[s[i]]
        else:
            total += values[s[i]]
    return total
'''},
            {"category": "syntax", "minor_type": "unclosed string", "code": '''
def roman_to_int(s):
    values = {"I": 1, "V: 5, "X": 10, "L": 50, "C": 100, "D": 500, "M": 1000}
    total = 0
    for i in range(len(s)):
        if i + 1 < len(s) and values[s[i]] < values[s[i + 1]]:
            total -= values[s[i]]
        else:
            total += values[s[i]]
    return total
'''},
        ],
    },
    {
        "problem": "flatten",
        "entry_point": "flatten",
        "difficulty": "hard",
        "description": """Write a function flatten(nested) that takes a list whose items are values or
            (arbitrarily deeply) nested lists and returns a flat list of all the values in
            left-to-right order.""",
        "reference": '''
def flatten(nested):
    flat = []
    for item in nested:
        if isinstance(item, list):
            flat.extend(flatten(item))
        else:
            flat.append(item)
    return flat
''',
        "tests": [
            ([[1, [2, [3, 4]], 5]], [1, 2, 3, 4, 5]),
            ([[1, 2, 3]], [1, 2, 3]),
            ([[]], []),
            ([[[]]], []),
            ([[[[[1]]]]], [1]),
            ([[[1, 2], [3, [4, [5, 6]]]]], [1, 2, 3, 4, 5, 6]),
            ([["a", ["b"]]], ["a", "b"]),
            ([[0, [-1, []], 2]], [0, -1, 2]),
        ],
        "bugs": [
            {"category": "logic", "minor_type": "missing recursion", "code": '''
def flatten(nested):
    flat = []
    for item in nested:
        if isinstance(item, list):
            flat.extend(item)
        else:
            flat.append(item)
    return flat
'''},
            {"category": "reference", "minor_type": "undefined name", "code": '''
def flatten(nested):
    flat = []
    for item in nested:
        if isinstance(item, list):
            flat.extend(flaten(item))
        else:
            flat.append(item)
    return flat
'''},
        ],
    },
    {
        "problem": "merge_sorted",
        "entry_point": "merge_sorted",
        "difficulty": "hard",
        "description": """Write a function merge_sorted(a, b) that merges the two ascending lists a and
            b into one ascending list in O(len(a) + len(b)) time, without calling sort.""",
        "reference": '''
def merge_sorted(a, b):
    i = j = 0
    out = []
    while i < len(a) and j < len(b):
        if a[i] <= b[j]:
            out.append(a[i])
            i += 1
        else:
            out.append(b[j])
            j += 1
    out.extend(a[i:])
    out.extend(b[j:])
    return out
''',
        "tests": [
            ([[1, 3, 5], [2, 4, 6]], [1, 2, 3, 4, 5, 6]),
            ([[1, 2], []], [1, 2]),
            ([[], []], []),
            ([[], [3]], [3]),
            ([[1, 1], [1]], [1, 1, 1]),
            ([[-3, 0], [-2, 5, 9]], [-3, -2, 0, 5, 9]),
            ([[5], [1, 2, 3]], [1, 2, 3, 5]),
            ([[1, 2, 3], [4, 5]], [1, 2, 3, 4, 5]),
        ],
        "bugs": [
            {"category": "multiple", "minor_type": "wrong boolean operator + missing tail", "code": '''
def merge_sorted(a, b):
    i = j = 0
    out = []
    while i < len(a) or j < len(b):
        if a[i] <= b[j]:
            out.append(a[i])
            i += 1
        else:
            out.append(b[j])
            j += 1
    out.extend(a[i:])
    return out
'''},
            {"category": "syntax", "minor_type": "missing colon", "code": '''
def merge_sorted(a, b):
    i = j = 0
    out = []
    while i < len(a) and j < len(b):
        if a[i] <= b[j]:
            out.append(a[i])
            i += 1
        else
            out.append(b[j])
            j += 1
    out.extend(a[i:])
    out.extend(b[j:])
    return out
'''},
        ],
    },
]

PROBLEMS = EASY + MEDIUM + HARD
