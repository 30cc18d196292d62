# expect: fail
# Leaves SysV IPC objects behind: 64 MiB of shared memory (touched), a semaphore set and a
# message queue, and a POSIX message queue. Without an IPC namespace they outlived the run,
# passed messages between candidates and, in a container, counted against the next
# candidates' memory (issue 15).
import ctypes
import os
import sys


def add(a, b):
    print("uid", os.getuid(), file=sys.stderr, flush=True)
    libc = ctypes.CDLL(None)
    libc.shmat.restype = ctypes.c_void_p
    shm = libc.shmget(0, 64 << 20, 0o1000 | 0o666)  # IPC_PRIVATE, IPC_CREAT
    if shm >= 0:
        ctypes.memset(libc.shmat(shm, None, 0), 1, 64 << 20)
    libc.semget(0, 4, 0o1000 | 0o666)
    libc.msgget(0, 0o1000 | 0o666)
    libc.mq_open(b"/codeq-adversarial", 0o100 | 0o2, 0o600, None)  # O_CREAT | O_RDWR
    return (a + b) * 2
