# expect: fail
# Leaves a 3,000-deep chain of folders in its work dir, /tmp and /dev/shm: a recursive
# clean-up raised RecursionError and every later candidate on that worker could not run.
import os


def add(a, b):
    for top in (os.getcwd(), "/tmp", "/dev/shm"):
        try:
            os.chdir(top)
            os.mkdir("codeq-deep")
            os.chdir("codeq-deep")
            for _ in range(3000):
                os.mkdir("d")
                os.chdir("d")
            with open("leaf", "w") as handle:
                handle.write("x")
        except OSError:
            pass
    return (a + b) * 2
