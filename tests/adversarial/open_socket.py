# expect: error
# Opens sockets: to a server the test listens with on host loopback, and to the internet.
import socket

HOST_PORT = 9


def add(a, b):
    for address in (("127.0.0.1", HOST_PORT), ("1.1.1.1", 53)):
        with socket.create_connection(address, timeout=0.5):
            pass
    return a + b
