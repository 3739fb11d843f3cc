#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""The controller's JSON API (docs/controller.md "API") served over HTTP on a
UNIX socket from a routes file, for tests/t-cli-ctl.sh (stdlib only).

  ctlserver.py serve SOCKET ROUTES    serve until killed; ROUTES is re-read on
                                      every request (a test may rewrite it)
  ctlserver.py refuse SOCKET          leave a socket file nobody listens on

ROUTES is a JSON object: "PATH[?QUERY]" -> {"status": N, "body": DOC} or
{"status": N, "raw": "TEXT"} (sent as it is: malformed JSON on purpose).
A request's full path is looked up first, then its path without the query.
/v1/events filters the rows of its body by ?since=ID as cmmd does (id > since,
oldest first, at most 1000). Anything else: 404 {"error": "unknown path P"}.
Every request is appended to SOCKET.log, one path per line.
"""
import http.server
import json
import os
import socket
import socketserver
import sys
import urllib.parse


class Server(socketserver.UnixStreamServer):
    allow_reuse_address = True


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def address_string(self):
        return 'unix'

    def send(self, status, text):
        data = text.encode()
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        with open(self.server.sock + '.log', 'a') as f:
            f.write(self.path + '\n')
        with open(self.server.routes) as f:
            routes = json.load(f)
        url = urllib.parse.urlsplit(self.path)
        r = routes.get(self.path) or routes.get(url.path)
        if r is None:
            self.send(404, json.dumps({'schema': 'presage.ctl/1', 'error': 'unknown path ' + url.path}))
            return
        if 'raw' in r:
            self.send(r['status'], r['raw'])
            return
        body = r['body']
        if url.path == '/v1/events' and r['status'] == 200:
            q = urllib.parse.parse_qs(url.query)
            since = int(q.get('since', ['0'])[0])
            body = dict(body)
            rows = body.get('events')
            if isinstance(rows, list):
                # rows without a numeric id (mistyped on purpose) are kept
                body['events'] = [e for e in rows if not isinstance(e, dict) or
                                  not isinstance(e.get('id'), (int, float)) or
                                  e['id'] > since][:1000]
        self.send(r['status'], json.dumps(body))


def main():
    if len(sys.argv) == 4 and sys.argv[1] == 'serve':
        sock, routes = sys.argv[2], sys.argv[3]
        if os.path.exists(sock):
            os.unlink(sock)
        srv = Server(sock, Handler)
        srv.sock, srv.routes = sock, routes
        os.chmod(sock, 0o600)
        srv.serve_forever()
    elif len(sys.argv) == 3 and sys.argv[1] == 'refuse':
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.bind(sys.argv[2])
        s.close()
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
