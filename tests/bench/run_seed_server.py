#!/usr/bin/python3
"""Runs the seed's reference device server (../shared/baselines/seed_server.py) unchanged on
either paho-mqtt generation: it was written for paho-mqtt 1.x (Debian 12), whose Client() takes no
callback API version; paho-mqtt 2.x (Debian 13) requires one as the first argument. Here Client
defaults it to VERSION1, the 1.x callback signatures the seed's code uses.

It also runs the seed's network loop in paho's own thread. The seed calls loop_forever() in its
main thread and publishes from its heartbeat thread and its move timers; a client whose loop was
not started with loop_start() writes such publishes to the socket at once, from the calling
thread, while the loop thread may be reading the same TLS connection. Two threads in one OpenSSL
connection corrupt it now and then: in one CI run the broker logged "wrong version number" and
the seed server died at call 188 of 1000. With loop_start(), paho queues those publishes for its
loop thread: the same messages on the same single connection, sent by one thread.

Usage: run_seed_server.py SEED_SERVER_PY   (its environment variables pass through)
"""
import runpy
import sys
import threading

import paho.mqtt.client as mqtt

_Client = mqtt.Client


class _SeedClient(_Client):
    _loop_error = None  # what ended paho's loop thread, re-raised in the seed's main thread

    def __init__(self, *args, **kwargs):
        if hasattr(mqtt, "CallbackAPIVersion") and (
            not args or not isinstance(args[0], mqtt.CallbackAPIVersion)
        ):
            kwargs.setdefault("callback_api_version", mqtt.CallbackAPIVersion.VERSION1)
        super().__init__(*args, **kwargs)

    def _thread_main(self, *args, **kwargs):
        try:
            return super()._thread_main(*args, **kwargs)
        except BaseException as e:  # an error in the seed's callbacks, as loop_forever() raised it
            self._loop_error = e
            raise

    def loop_forever(self, *args, **kwargs):
        # paho's own loop thread runs loop_forever too: that call is the real loop.
        if self._thread is not None and threading.current_thread() is self._thread:
            return super().loop_forever(*args, **kwargs)
        rc = self.loop_start()  # paho 1.6 returns None on success, 2.x MQTT_ERR_SUCCESS
        if rc not in (None, mqtt.MQTT_ERR_SUCCESS):
            raise RuntimeError(f"run_seed_server.py: loop_start() failed ({rc})")
        thread = self._thread  # paho 2.x sets it back to None when the loop ends
        if thread is not None:
            thread.join()
        if self._loop_error is not None:
            # The process ends as it did when the loop ran in the main thread: with the error.
            raise self._loop_error
        return mqtt.MQTT_ERR_SUCCESS


mqtt.Client = _SeedClient

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: run_seed_server.py SEED_SERVER_PY")
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
