# expect: error
# Writes files outside its work dir: in the repository, /tmp, and the interpreter's folder.
import sys

TARGETS = ["/tmp/codeq_adversarial_canary.txt", "/work/codeq_adversarial_canary.txt",
           sys.base_prefix + "/codeq_adversarial_canary.txt", "/etc/codeq_adversarial_canary.txt"]


def add(a, b):
    wrote = 0
    for path in TARGETS:
        try:
            with open(path, "w") as handle:
                handle.write("owned")
            wrote += 1
        except OSError:
            pass
    raise RuntimeError(f"wrote {wrote} files")
