#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""presage report: one self-contained HTML file from a controller database.

  scripts/report.py --db cmmd.db [--clients clients.jsonl] [--threshold 0.6] -o report.html

For every POP (its risk, the threshold dashed, failed runs shaded) and
interconnect (POP/LINK) in the database (docs/controller.md
"Database"): SVG line charts over time of RTT p90, probe loss, route count
and P(failure) (the decision threshold dashed), failures shaded; with a
client log (JSON lines {"t", "host", "path", "addr", "status", "ok",
"wrong", "ms", "err"}) a chart of client requests per second, ok and
failed. Every journal row (decision) is a vertical marker with its label on
every chart, and a table lists the decisions with their reasons.

Hand-written SVG, no JavaScript, Python standard library only. Times are
UTC. The output is written atomically (a temporary file renamed).
"""
import argparse
import html
import json
import math
import os
import sqlite3
import sys
import tempfile
import time

PROG = 'report.py'
W, H = 960, 230                      # chart size in px
ML, MR, MT, MB = 64, 16, 48, 30      # margins: left (y labels), right, top (title, 3 rows of markers), bottom
REQUIRED = ('samples', 'predictions', 'journal')
TIER_PERIOD = {0: 1, 1: 10, 2: 60}   # samples.tier: 1 s rows, 10 s and 60 s means


class ReportError(Exception):
    pass


def esc(s):
    return html.escape('' if s is None else str(s), quote=True)


# ---- input ---------------------------------------------------------------------

def open_db(path):
    if not os.path.exists(path):
        raise ReportError('cannot open database %s: no such file' % path)
    if not os.path.isfile(path):
        raise ReportError('cannot open database %s: not a regular file' % path)
    try:
        # Read-only: a report never changes the controller's state.
        db = sqlite3.connect('file:%s?mode=ro' % urlquote(os.path.abspath(path)), uri=True)
        tables = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
    except sqlite3.DatabaseError as e:
        raise ReportError('%s is not a presage controller database: %s' % (path, e))
    missing = [t for t in REQUIRED if t not in tables]
    if missing:
        raise ReportError('%s is not a presage controller database: no table %s '
                          '(expected the schema of docs/controller.md "Database")'
                          % (path, ', '.join(missing)))
    return db, tables


def urlquote(p):
    from urllib.parse import quote
    return quote(p, safe='/')


def columns(db, table):
    return {r[1] for r in db.execute('PRAGMA table_info(%s)' % table)}


def query(db, table, want, sql):
    """Rows of `sql`; a column the table lacks is a clear error, not a crash."""
    have = columns(db, table)
    missing = [c for c in want if c not in have]
    if missing:
        raise ReportError('table %s has no column %s (expected the schema of '
                          'docs/controller.md "Database")' % (table, ', '.join(missing)))
    try:
        return db.execute(sql).fetchall()
    except sqlite3.DatabaseError as e:
        raise ReportError('reading table %s: %s' % (table, e))


def num(v):
    """A finite float, or None (NULL, text, NaN)."""
    if isinstance(v, bool) or not isinstance(v, (int, float)):
        return None
    v = float(v)
    return v if math.isfinite(v) else None


def load_samples(db):
    """{(pop, link): [(ts, rtt_p90, probe_loss, routes)]}, the finest tier at each time:
    1 s rows, then 10 s means older than them, then 60 s means older still."""
    rows = query(db, 'samples', ('ts', 'pop', 'link', 'tier', 'rtt_p90', 'probe_loss', 'routes'),
                 'SELECT pop, link, tier, ts, rtt_p90, probe_loss, routes FROM samples '
                 'ORDER BY pop, link, tier, ts')
    by = {}
    for pop, link, tier, ts, rtt, loss, routes in rows:
        if num(ts) is None:
            continue
        by.setdefault((str(pop), str(link)), {}).setdefault(tier, []).append(
            (float(ts), num(rtt), num(loss), num(routes), TIER_PERIOD.get(tier, 60)))
    out = {}
    for key, tiers in by.items():
        merged, oldest = [], math.inf
        for tier in sorted(tiers, key=lambda t: (num(t) is None, num(t) or 0)):
            older = [r for r in tiers[tier] if r[0] < oldest]
            merged.extend(older)
            if tiers[tier]:
                oldest = min(oldest, tiers[tier][0][0])
        out[key] = sorted(merged)
    return out


def load_predictions(db):
    """{(pop, link): {horizon_s: [(ts, p)]}}"""
    rows = query(db, 'predictions', ('ts', 'pop', 'link', 'horizon_s', 'p'),
                 'SELECT pop, link, horizon_s, ts, p FROM predictions ORDER BY ts')
    out = {}
    for pop, link, hz, ts, p in rows:
        if num(ts) is None:
            continue
        out.setdefault((str(pop), str(link)), {}).setdefault(hz, []).append((float(ts), num(p)))
    return out


def load_journal(db):
    rows = query(db, 'journal', ('id', 'ts_ms', 'hostname', 'pop', 'from_state', 'to_state',
                                 'action', 'target', 'reason', 'status'),
                 'SELECT id, ts_ms, hostname, pop, from_state, to_state, action, target, reason, '
                 'status FROM journal ORDER BY id')
    out = []
    for r in rows:
        d = dict(zip(('id', 'ts_ms', 'hostname', 'pop', 'from_state', 'to_state', 'action',
                      'target', 'reason', 'status'), r))
        d['t'] = num(d['ts_ms']) / 1000 if num(d['ts_ms']) is not None else None
        out.append(d)
    return out


def load_pop_risk(db, tables):
    """{pop: [(ts, risk or None while unknown, failed)]}"""
    if 'pop_risk' not in tables:
        return {}
    rows = query(db, 'pop_risk', ('ts', 'pop', 'risk', 'failed', 'unknown'),
                 'SELECT pop, ts, risk, failed, unknown FROM pop_risk ORDER BY pop, ts')
    out = {}
    for pop, ts, risk, failed, unknown in rows:
        if num(ts) is not None:
            out.setdefault(str(pop), []).append((num(ts), None if unknown else num(risk),
                                                 bool(failed)))
    return out


def spans_of(rows):
    """[(from, to)] of the runs of rows whose flag is set."""
    out, start, last = [], None, None
    for t, flag in rows:
        if flag and start is None:
            start = t
        elif not flag and start is not None:
            out.append((start, t))
            start = None
        last = t
    if start is not None:
        out.append((start, last))
    return out


def load_failures(db, tables):
    if 'failures' not in tables:
        return {}
    rows = query(db, 'failures', ('pop', 'link', 'onset_ts', 'end_ts', 'reason'),
                 'SELECT pop, link, onset_ts, end_ts, reason FROM failures ORDER BY onset_ts')
    out = {}
    for pop, link, on, end, why in rows:
        if num(on) is not None:
            out.setdefault((str(pop), str(link)), []).append((num(on), num(end), why))
    return out


def load_clients(path):
    """[(t, good)] from the client log; bad lines are skipped with a warning."""
    out = []
    try:
        f = open(path, encoding='utf-8', errors='replace')
    except OSError as e:
        raise ReportError('cannot read client log %s: %s' % (path, e.strerror))
    with f:
        for n, line in enumerate(f, 1):
            if not line.strip():
                continue
            try:
                d = json.loads(line)
            except ValueError as e:
                warn('%s:%d: skipped, not JSON (%s)' % (path, n, e))
                continue
            if not isinstance(d, dict) or num(d.get('t')) is None:
                warn('%s:%d: skipped, not an object with a time "t"' % (path, n))
                continue
            out.append((num(d['t']), d.get('ok') is True and d.get('wrong') is not True))
    return out


def warn(msg):
    print('%s: warning: %s' % (PROG, msg), file=sys.stderr)


# ---- charts --------------------------------------------------------------------------

def nice_step(span, n):
    """A 1-2-5 step giving about n intervals over span."""
    if span <= 0:
        return 1.0
    raw = span / n
    mag = 10 ** math.floor(math.log10(raw))
    for m in (1, 2, 5, 10):
        if raw <= m * mag:
            return m * mag
    return 10 * mag


TIME_STEPS = (1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10800, 21600,
              43200, 86400)


def time_step(span):
    for s in TIME_STEPS:
        if span / s <= 8:
            return s
    return nice_step(span, 8)


def fmt_time(t, step):
    g = time.gmtime(t)
    if step >= 86400:
        return time.strftime('%m-%d', g)
    return time.strftime('%H:%M' if step >= 60 else '%H:%M:%S', g)


def fmt_val(v, step):
    if step >= 1:
        return '%d' % round(v) if abs(v) < 1e6 else '%.3g' % v
    d = max(0, -int(math.floor(math.log10(step))))
    return '%.*f' % (d, v)


class Chart:
    """One SVG line chart on the report's common time axis."""

    def __init__(self, t0, t1, title, unit, cid, link, metric):
        self.t0, self.t1 = t0, t1 if t1 > t0 else t0 + 1
        self.title, self.unit = title, unit
        self.cid, self.link, self.metric = cid, link, metric
        self.series = []     # (name, colour, points, dashed)
        self.hlines = []     # (y, label)
        self.spans = []      # (t_from, t_to, label)
        self.ymin, self.ymax = None, None

    def add(self, name, colour, points):
        """points: (t, v) or (t, v, period): v None is a hole; period is the
        spacing the row's tier has (a 60 s mean is not a gap after 60 s)."""
        self.series.append((name, colour, [(p[0], p[1], p[2] if len(p) > 2 else 0) for p in points]))

    def x(self, t):
        return ML + (t - self.t0) / (self.t1 - self.t0) * (W - ML - MR)

    def y(self, v):
        return H - MB - (v - self.lo) / (self.hi - self.lo) * (H - MT - MB)

    def segments(self, pts):
        """Split where a value is missing or the gap is far wider than usual."""
        dts = sorted(b[0] - a[0] for a, b in zip(pts, pts[1:]) if b[0] > a[0])
        gap = 5 * dts[len(dts) // 2] if dts else math.inf
        seg, prev = [], None
        for t, v, period in pts:
            if v is None or (prev is not None and t - prev > max(gap, 3 * period)):
                if seg:
                    yield seg
                seg = []
            if v is not None:
                seg.append((t, v))
            prev = t
        if seg:
            yield seg

    def render(self, markers):
        vals = [p[1] for _, _, pts in self.series for p in pts if p[1] is not None]
        vals += [y for y, _ in self.hlines]
        lo = self.ymin if self.ymin is not None else min(vals + [0])
        hi = self.ymax if self.ymax is not None else max(vals + [lo + 1e-9])
        if hi <= lo:
            hi = lo + 1
        step = nice_step(hi - lo, 4)
        self.lo = math.floor(lo / step) * step
        self.hi = max(math.ceil(hi / step) * step, self.lo + step)
        o = ['<svg class="chart" id="%s" data-link="%s" data-metric="%s" xmlns="http://www.w3.org/2000/svg" '
             'width="%d" height="%d" viewBox="0 0 %d %d" role="img" aria-label="%s">'
             % (esc(self.cid), esc(self.link), esc(self.metric), W, H, W, H, esc(self.title))]
        o.append('<title>%s</title>' % esc(self.title))
        o.append('<text x="%d" y="14" class="ct">%s</text>' % (ML, esc(self.title)))
        x0, x1, yb, yt = ML, W - MR, H - MB, MT
        for t0, t1, label in self.spans:
            a, b = self.x(max(t0, self.t0)), self.x(min(t1, self.t1))
            o.append('<rect class="failure" x="%.1f" y="%d" width="%.1f" height="%d"><title>%s</title></rect>'
                     % (a, yt, max(b - a, 1), yb - yt, esc(label)))
        # y axis: grid and labels
        v = self.lo
        while v <= self.hi + step / 2:
            yy = self.y(v)
            o.append('<line class="grid" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>' % (x0, yy, x1, yy))
            o.append('<text class="yl" x="%d" y="%.1f">%s</text>' % (x0 - 4, yy + 4, esc(fmt_val(v, step))))
            v += step
        o.append('<text class="yl" x="%d" y="%d">%s</text>' % (x0 - 4, yt - 4, esc(self.unit)))
        # x axis: ticks at round times
        ts = time_step(self.t1 - self.t0)
        t = math.ceil(self.t0 / ts) * ts
        while t <= self.t1:
            xx = self.x(t)
            o.append('<line class="tick" x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>' % (xx, yb, xx, yb + 4))
            o.append('<text class="xl" x="%.1f" y="%d">%s</text>' % (xx, yb + 16, esc(fmt_time(t, ts))))
            t += ts
        o.append('<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (x0, yb, x1, yb))
        o.append('<line class="axis" x1="%d" y1="%d" x2="%d" y2="%d"/>' % (x0, yt, x0, yb))
        for yv, label in self.hlines:
            yy = self.y(yv)
            o.append('<line class="threshold" x1="%d" y1="%.1f" x2="%d" y2="%.1f"/>' % (x0, yy, x1, yy))
            o.append('<text class="tl" x="%d" y="%.1f">%s</text>' % (x1 - 2, yy - 3, esc(label)))
        for name, colour, pts in self.series:
            for seg in self.segments(pts):
                p = ' '.join('%.1f,%.1f' % (self.x(t), self.y(v)) for t, v in seg)
                if len(seg) == 1:
                    o.append('<circle class="point" data-series="%s" cx="%.1f" cy="%.1f" r="2" fill="%s"/>'
                             % (esc(name), self.x(seg[0][0]), self.y(seg[0][1]), colour))
                else:
                    o.append('<polyline class="series" data-series="%s" fill="none" stroke="%s" '
                             'stroke-width="1.5" points="%s"/>' % (esc(name), colour, p))
        # decisions: a vertical line each, labels staggered over three rows
        for i, m in enumerate(markers):
            if m['t'] is None:
                continue
            xx = self.x(m['t'])
            label = '#%s %s' % (m['id'], m['to_state'] or m['action'] or '')
            ly = 25 + 9 * (i % 3)
            o.append('<g class="marker" data-journal-id="%s"><title>%s</title>'
                     '<line x1="%.1f" y1="%d" x2="%.1f" y2="%d"/>'
                     '<text x="%.1f" y="%d">%s</text></g>'
                     % (esc(m['id']), esc(marker_title(m)), xx, ly + 2, xx, yb, xx + 2, ly,
                        esc(label)))
        # legend
        lx = ML + 260
        for name, colour, _ in self.series:
            o.append('<line x1="%d" y1="10" x2="%d" y2="10" stroke="%s" stroke-width="2"/>'
                     % (lx, lx + 16, colour))
            o.append('<text class="lg" x="%d" y="14">%s</text>' % (lx + 20, esc(name)))
            lx += 28 + 7 * len(name)
        if not vals:
            o.append('<text class="empty" x="%d" y="%d">no data</text>' % ((x0 + x1) // 2, (yt + yb) // 2))
        o.append('</svg>')
        return '\n'.join(o)


def marker_title(m):
    return '#%s %s %s: %s -> %s, %s %s: %s' % (
        m['id'], fmt_ts(m['t']), m['hostname'], m['from_state'], m['to_state'], m['action'],
        m['target'] or '', m['reason'] or '')


def fmt_ts(t):
    if t is None:
        return '-'
    return time.strftime('%Y-%m-%d %H:%M:%S', time.gmtime(t)) + '.%03d' % (round(t * 1000) % 1000)


COLOURS = ('#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b')

CSS = """
body { font: 14px/1.4 system-ui, sans-serif; margin: 24px; color: #222; }
h1 { font-size: 20px; } h2 { font-size: 17px; margin-top: 28px; } h3 { font-size: 15px; }
svg.chart { display: block; margin: 6px 0 14px; background: #fff; border: 1px solid #ddd; }
svg .ct { font-weight: 600; font-size: 13px; }
svg text { font-size: 11px; fill: #333; }
svg .yl { text-anchor: end; } svg .xl { text-anchor: middle; } svg .tl { text-anchor: end; fill: #a00; }
svg .grid { stroke: #eee; } svg .axis, svg .tick { stroke: #666; }
svg .threshold { stroke: #a00; stroke-dasharray: 6 4; }
svg .marker line { stroke: #7a4; stroke-dasharray: 2 3; }
svg .marker text { fill: #4a7a24; font-size: 10px; }
svg .failure { fill: #f4c7c3; opacity: 0.6; }
svg .empty { fill: #999; text-anchor: middle; }
table { border-collapse: collapse; font-size: 13px; }
td, th { border: 1px solid #ccc; padding: 3px 6px; text-align: left; vertical-align: top; }
th { background: #f3f3f3; }
"""


def link_charts(body, n, pop, link, samples, preds, failures, journal, t0, t1, args):
    """RTT p90, probe loss, routes and P(failure) of one interconnect."""
    name = '%s/%s' % (pop, link)
    rows = samples.get((pop, link), [])
    spans = [(on, end if end is not None else t1, 'failure: %s' % (why or ''))
             for on, end, why in failures.get((pop, link), [])]
    body.append('<h3 id="link-%d">%s</h3>' % (n, esc(name)))
    for metric, title, unit, idx, scale, colour in (
            ('rtt_p90', 'RTT p90', 'ms', 1, 1, COLOURS[0]),
            ('probe_loss', 'probe loss', '%', 2, 100, COLOURS[1]),
            ('routes', 'routes', 'prefixes', 3, 1, COLOURS[4])):
        c = Chart(t0, t1, '%s: %s' % (name, title), unit, 'c%d-%s' % (n, metric), name, metric)
        c.add(title, colour, [(r[0], None if r[idx] is None else r[idx] * scale, r[4]) for r in rows])
        c.ymin = 0
        c.spans = spans
        body.append(c.render(journal))
    c = Chart(t0, t1, '%s: P(failure)' % name, 'P', 'c%d-p' % n, name, 'p')
    for i, (hz, pts) in enumerate(sorted(preds.get((pop, link), {}).items(),
                                         key=lambda kv: num(kv[0]) or 0)):
        c.add('within %ss' % hz, COLOURS[(3 + i) % len(COLOURS)], pts)
    c.ymin, c.ymax = 0, 1
    c.hlines = [(args.threshold, 'threshold %.2f' % args.threshold)]
    c.spans = spans
    body.append(c.render(journal))


def build(args):
    db, tables = open_db(args.db)
    samples = load_samples(db)
    preds = load_predictions(db)
    journal = load_journal(db)
    failures = load_failures(db, tables)
    risk = load_pop_risk(db, tables)
    db.close()
    clients = load_clients(args.clients) if args.clients else None

    times = [r[0] for rows in samples.values() for r in rows]
    times += [t for hz in preds.values() for rows in hz.values() for t, _ in rows]
    times += [m['t'] for m in journal if m['t'] is not None]
    times += [t for t, _ in clients or []]
    times += [r[0] for rows in risk.values() for r in rows]
    if not times:
        raise ReportError('%s has no samples, predictions or journal rows to report' % args.db)
    t0, t1 = min(times), max(times)
    pad = max((t1 - t0) * 0.02, 1)
    t0, t1 = t0 - pad, t1 + pad

    links = sorted(set(samples) | set(preds))
    body = []
    body.append('<h1>presage report</h1>')
    body.append('<p>Database <code>%s</code>; %s to %s UTC; %d interconnects, %d decisions; '
                'decision threshold %.2f.</p>'
                % (esc(args.db), esc(fmt_ts(t0 + pad)), esc(fmt_ts(t1 - pad)), len(links),
                   len(journal), args.threshold))
    if clients is not None:
        c = Chart(t0, t1, 'clients: requests per second', 'req/s', 'clients', '', 'clients')
        per = {}
        for t, good in clients:
            s = math.floor(t)
            ok, bad = per.get(s, (0, 0))
            per[s] = (ok + good, bad + (not good))
        if per:
            # every second from the first to the last request, zeros included
            secs = range(min(per), max(per) + 1)
            c.add('ok', COLOURS[2], [(s + 0.5, per.get(s, (0, 0))[0]) for s in secs])
            c.add('failed', COLOURS[1], [(s + 0.5, per.get(s, (0, 0))[1]) for s in secs])
        c.ymin = 0
        body.append('<h2>Clients</h2>')
        body.append(c.render(journal))
    pops = sorted({p for p, _ in links} | set(risk))
    for pop in pops:
        body.append('<h2 id="pop-%s">POP %s</h2>' % (esc(pop), esc(pop)))
        if pop in risk:
            c = Chart(t0, t1, '%s: POP risk (traffic-weighted P)' % pop, 'risk', 'r-%s' % pop, pop,
                      'risk')
            c.add('risk', COLOURS[3], [(t, v) for t, v, _ in risk[pop]])
            c.ymin, c.ymax = 0, 1
            c.hlines = [(args.threshold, 'threshold %.2f' % args.threshold)]
            c.spans = [(a, b, 'POP failed') for a, b in spans_of([(t, f) for t, _, f in risk[pop]])]
            body.append(c.render(journal))
        for n, (lpop, link) in enumerate(links):
            if lpop == pop:
                link_charts(body, n, lpop, link, samples, preds, failures, journal, t0, t1, args)
    body.append('<h2>Decisions</h2>')
    if journal:
        body.append('<table class="decisions"><tr><th>id</th><th>time (UTC)</th><th>hostname</th>'
                    '<th>POP</th><th>from</th><th>to</th><th>action</th><th>target</th>'
                    '<th>status</th><th>reason</th></tr>')
        for m in journal:
            body.append('<tr data-journal-id="%s">%s</tr>' % (esc(m['id']), ''.join(
                '<td>%s</td>' % esc(v) for v in (m['id'], fmt_ts(m['t']), m['hostname'], m['pop'],
                                                 m['from_state'], m['to_state'], m['action'],
                                                 m['target'], m['status'], m['reason']))))
        body.append('</table>')
    else:
        body.append('<p>No decisions in the journal.</p>')
    return ('<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
            '<title>presage report</title><style>%s</style></head><body>\n%s\n</body></html>\n'
            % (CSS, '\n'.join(body)))


def write_atomic(path, text):
    d = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix='.report.', dir=d)
    try:
        with os.fdopen(fd, 'w', encoding='utf-8') as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main():
    ap = argparse.ArgumentParser(prog=PROG, description=__doc__.split('\n\n')[0].split(': ', 1)[1],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog=__doc__.split('\n\n', 2)[2])
    ap.add_argument('--db', required=True, help="the controller's database (state-dir/cmmd.db)")
    ap.add_argument('--clients', help='client log, JSON lines')
    ap.add_argument('--threshold', type=float, default=0.6,
                    help='decision threshold drawn on the P(failure) charts (default 0.6)')
    ap.add_argument('-o', '--output', required=True, help='HTML file to write')
    args = ap.parse_args()
    if not 0 <= args.threshold <= 1:
        ap.error('--threshold must be within 0..1, got %g' % args.threshold)
    try:
        text = build(args)
        write_atomic(args.output, text)
    except ReportError as e:
        print('%s: %s' % (PROG, e), file=sys.stderr)
        return 1
    except OSError as e:
        print('%s: cannot write %s: %s' % (PROG, args.output, e.strerror), file=sys.stderr)
        return 1
    return 0


if __name__ == '__main__':
    sys.exit(main())
