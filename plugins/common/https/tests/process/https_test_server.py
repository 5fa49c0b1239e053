#!/usr/bin/env python3
"""A loopback HTTPS file server for the download and upload tests, with the faults they need.

Serves the files of --dir (GET), and stores a PUT's body as the file of its path, replacing it
(parent directories made), answering 200; the fault parameters that make sense for a PUT
(status=N, stall_after=0) apply to it too, slow_read=N reads its body N bytes every 0.25 s, and
read_stall_after=N reads N bytes of it, then nothing for 60 s.
Query parameters change one response:
  drop_after=N   send the headers for the whole body, then N bytes of it, then close
  ignore_range=1 answer 200 with the whole file even when a Range was asked for
  wrong_range=1  answer a Range request with 206 from offset 0
  status=N       answer HTTP N with an empty body
  stall_after=N  send the headers for the whole body, then N bytes of it, then nothing for 60 s
  stall_once_after=N  stall_after=N for the first request of the path, then served normally
Prints "port N" once listening, then one line per request: "GET <path> range=<Range or ->" or
"PUT <path> bytes=<body length> type=<Content-Type or ->".
Stops on SIGTERM.
"""
import argparse
import http.server
import os
import signal
import socket
import ssl
import threading
import urllib.parse


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):  # the request lines below are the log
        pass

    def do_PUT(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        length = self.headers.get("Content-Length")
        if length is None:  # S3 refuses a presigned PUT without it, so does this server
            print(f"PUT {parsed.path} no Content-Length", flush=True)
            self.send_response(411)
            self.send_header("Content-Length", "0")
            self.end_headers()
            self.close_connection = True
            return
        if "read_stall_after" in query:  # an uplink that stops dead in the middle of the body
            self.rfile.read(int(query["read_stall_after"]))
            print(f"PUT {parsed.path} stalled", flush=True)
            self.server.stop_event.wait(60)
            self.close_connection = True
            return
        if "slow_read" in query:  # N bytes every 0.25 s: a slow uplink, seen from the server
            step, left, parts = int(query["slow_read"]), int(length), []
            while left > 0:
                if parts:
                    self.server.stop_event.wait(0.25)
                parts.append(self.rfile.read(min(step, left)))
                left -= len(parts[-1])
            body = b"".join(parts)
        else:
            body = self.rfile.read(int(length))
        print(f"PUT {parsed.path} bytes={len(body)} type={self.headers.get('Content-Type') or '-'}", flush=True)
        if "stall_after" in query:
            self.server.stop_event.wait(60)
            self.close_connection = True
            return
        if "status" in query:
            answer = b"<Error><Code>AccessDenied</Code></Error>" if query["status"] == "403" else b""
            self.send_response(int(query["status"]))
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)
            return
        path = os.path.join(self.server.root, parsed.path.lstrip("/"))
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path + ".tmp", "wb") as f:
            f.write(body)
        os.replace(path + ".tmp", path)
        self.send_response(200)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def do_GET(self):
        parsed = urllib.parse.urlsplit(self.path)
        query = dict(urllib.parse.parse_qsl(parsed.query))
        asked = self.headers.get("Range")
        print(f"GET {parsed.path} range={asked or '-'}", flush=True)
        if "status" in query:
            self.send_response(int(query["status"]))
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        path = os.path.join(self.server.root, parsed.path.lstrip("/"))
        if not os.path.isfile(path):
            self.send_response(404)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        with open(path, "rb") as f:
            data = f.read()
        start = 0
        if asked and asked.startswith("bytes=") and asked.endswith("-") and "ignore_range" not in query:
            start = 0 if "wrong_range" in query else int(asked[len("bytes="):-1])
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        stall = query.get("stall_after")
        if "stall_once_after" in query and parsed.path not in self.server.stalled:
            self.server.stalled.add(parsed.path)
            stall = query["stall_once_after"]
        if stall is not None:
            self.wfile.write(body[: int(stall)])
            self.wfile.flush()
            self.server.stop_event.wait(60)
            self.close_connection = True
            return
        if "drop_after" in query:
            self.wfile.write(body[: int(query["drop_after"])])
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(2)
            return
        self.wfile.write(body)


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--cert", required=True)
    p.add_argument("--key", required=True)
    p.add_argument("--host", default="127.0.0.1")
    args = p.parse_args()
    server = http.server.ThreadingHTTPServer((args.host, 0), Handler)
    server.root = args.dir
    server.daemon_threads = True  # a stalled answer does not hold up the exit
    server.stop_event = threading.Event()
    server.stalled = set()  # paths whose stall_once_after was served
    # A small receive buffer, so that what the client sees acknowledged is about what this server
    # has read, as with a slow link in front of a fast server (S3); the kernel would otherwise
    # take megabytes for a slow reader and acknowledge them at once.
    server.socket.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(args.cert, args.key)
    server.socket = ctx.wrap_socket(server.socket, server_side=True)

    def stop(*_):
        server.stop_event.set()
        threading.Thread(target=server.shutdown).start()

    signal.signal(signal.SIGTERM, stop)
    print(f"port {server.server_address[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
