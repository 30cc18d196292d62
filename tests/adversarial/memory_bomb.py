# expect: error|timeout
# Allocates without bound: the address-space limit turns it into a MemoryError.
def add(a, b):
    hog = []
    while True:
        hog.append(bytearray(50 * 1024 * 1024))
