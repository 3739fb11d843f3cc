#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""An agent's health API (ihmd's GET /v1/health, schema presage.health/1)
with fixed values, for tests/t-cli-ctl.sh to feed a real cmmd (stdlib only).

  healthserver.py PORT VALUES [MODES]   serve on 127.0.0.1:PORT until killed

VALUES is a JSON object {LINK: {"rtt_p90_ms", "probe_loss", "routes",
"rx_bps", "tx_bps"}}; every answer carries the current time, so the
controller never finds the data stale. GET /v1/events answers at once with
no events (presage.events/1; a real agent would hold a ?wait= poll).

MODES, a directory, makes it a broken agent for tests/t-cmm-badagent.sh: the
files MODES/health and MODES/events, re-read on every request, say what
that path answers: "ok", "schema" (a document of another schema),
"truncated" (JSON cut short), "500" (HTTP 500) or "garbage" (not JSON).
Every request's path is appended to MODES/requests.
"""
import http.server
import json
import os
import sys
import time


def health(values):
    now = int(time.time() * 1000)
    links = []
    for name, v in values.items():
        links.append({
            'link': name, 'state': 'attached', 'ts_ms': now, 'interval_s': 1.0,
            'capacity_bps': 10_000_000_000, 'rx_bps': v['rx_bps'], 'tx_bps': v['tx_bps'],
            'utilization': max(v['rx_bps'], v['tx_bps']) / 1e10,
            'link_state': {'carrier': True, 'operstate': 'up'},
            'rtt': {'samples': 100, 'min_ms': v['rtt_p90_ms'] / 3, 'p50_ms': v['rtt_p90_ms'] / 2,
                    'p90_ms': v['rtt_p90_ms'], 'p99_ms': v['rtt_p90_ms'] * 1.5,
                    'max_ms': v['rtt_p90_ms'] * 2},
            'tcp': {'rx_retrans_rate': 0.001, 'tx_retrans_rate': 0.002},
            'probe': {'rtt_avg_ms': v['rtt_p90_ms'] / 2, 'loss': v['probe_loss']},
            'routes': {'count': v['routes'], 'announced': 0, 'withdrawn': 0},
        })
    return {'schema': 'presage.health/1', 'ts_ms': now, 'links': links}


def events(started_ms):
    return {'schema': 'presage.events/1', 'agent': {'started_ms': started_ms},
            'oldest_id': 0, 'last_id': 0, 'missed': False, 'events': []}


# MODES answers: status and body
BROKEN = {
    '500': (500, '{"error": "internal"}'),
    'garbage': (200, '<html>not json</html>'),
    'truncated': (200, '{"schema": "presage.health/1", "ts_ms": 1, "links": ['),
    'schema': (200, '{"schema": "presage.bogus/1", "links": []}'),
}


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = 'HTTP/1.1'

    def log_message(self, fmt, *args):
        pass

    def mode(self, what):
        if not self.server.modes:
            return 'ok'
        try:
            return open(os.path.join(self.server.modes, what)).read().strip() or 'ok'
        except FileNotFoundError:
            return 'ok'

    def do_GET(self):
        path = self.path.split('?')[0]
        if self.server.modes:
            with open(os.path.join(self.server.modes, 'requests'), 'a') as f:
                f.write(path + '\n')
        what = {'/v1/health': 'health', '/v1/events': 'events'}.get(path)
        m = self.mode(what) if what else None
        if what is None:
            body, status = b'{"error": "not found"}', 404
        elif m in BROKEN:
            status, text = BROKEN[m]
            body = text.encode()
        elif what == 'events':
            body, status = json.dumps(events(self.server.started_ms)).encode(), 200
        else:
            body, status = json.dumps(health(self.server.values)).encode(), 200
        self.send_response(status)
        self.send_header('Content-Type', 'application/json')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)


def main():
    if len(sys.argv) not in (3, 4):
        sys.exit(__doc__)
    srv = http.server.ThreadingHTTPServer(('127.0.0.1', int(sys.argv[1])), Handler)
    srv.values = json.load(open(sys.argv[2]))
    srv.modes = sys.argv[3] if len(sys.argv) == 4 else None
    srv.started_ms = int(time.time() * 1000)
    srv.serve_forever()


if __name__ == '__main__':
    main()
