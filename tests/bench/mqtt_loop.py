"""A paho-mqtt network loop for the benchmarks' long-lived clients (soak, fleet) that survives
the broker going away."""
import socket
import ssl
import threading


class Loop:
    """paho's network loop in a thread that survives the broker going away. paho 1.6's own
    loop_start() thread dies on an ssl.SSLEOFError raised while it writes to a socket the broker
    just closed (seen at every broker restart under load), and then never reconnects."""

    def __init__(self, client):
        self.c = client
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        # What loop_start() sets up: publish() from other threads then only queues the packet and
        # wakes this thread through the socket pair (without it, select() waits out its 1 s
        # timeout before a queued publish leaves), instead of writing to the socket itself.
        client._thread = self.thread
        if getattr(client, "_sockpairR", None) is None:
            r, w = socket.socketpair()
            r.setblocking(False)
            w.setblocking(False)
            client._sockpairR, client._sockpairW = r, w
        self.thread.start()

    def _run(self):
        while not self.stop.is_set():
            try:
                self.c.loop_forever(retry_first_connection=True)
                return  # disconnect() was called
            except (ssl.SSLError, OSError):
                try:
                    self.c._sock_close()  # the broken socket; reconnect() opens a new one
                except Exception:  # noqa: BLE001 (best effort on a socket already gone)
                    pass
                if self.stop.wait(1.0):
                    return
                try:
                    self.c.reconnect()
                except (ssl.SSLError, OSError):
                    pass  # loop_forever retries with its reconnect delay

    def close(self):
        self.stop.set()
        try:
            self.c.disconnect()
        except (ssl.SSLError, OSError):
            pass
        self.thread.join(5)
