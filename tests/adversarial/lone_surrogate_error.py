# expect: error
# Raises with a lone surrogate and a NUL in its message: the text went unescaped into the
# feedback prompt and the tokenizer raised (issue 15).


def add(a, b):
    raise ValueError("bad \udc80 text \x00 end")
