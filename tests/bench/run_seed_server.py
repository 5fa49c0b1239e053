#!/usr/bin/python3
"""Runs the seed's reference device server (../shared/baselines/seed_server.py) unchanged on
either paho-mqtt generation: it was written for paho-mqtt 1.x (Debian 12), whose Client() takes no
callback API version; paho-mqtt 2.x (Debian 13) requires one as the first argument. Here Client
defaults it to VERSION1, the 1.x callback signatures the seed's code uses.

Usage: run_seed_server.py SEED_SERVER_PY   (its environment variables pass through)
"""
import runpy
import sys

import paho.mqtt.client as mqtt

if hasattr(mqtt, "CallbackAPIVersion"):
    _Client = mqtt.Client

    class _Version1Client(_Client):
        def __init__(self, *args, **kwargs):
            if not args or not isinstance(args[0], mqtt.CallbackAPIVersion):
                kwargs.setdefault("callback_api_version", mqtt.CallbackAPIVersion.VERSION1)
            super().__init__(*args, **kwargs)

    mqtt.Client = _Version1Client

if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: run_seed_server.py SEED_SERVER_PY")
    sys.argv = sys.argv[1:]
    runpy.run_path(sys.argv[0], run_name="__main__")
