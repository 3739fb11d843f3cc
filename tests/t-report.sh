#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
#
# scripts/report.py on a real SQLite database built with the schema of
# docs/controller.md "Database" (read from the page itself) and filled with
# seeded data, plus a client log:
#  - the HTML parses, has no script, one SVG chart per interconnect and
#    metric (RTT p90, probe loss, routes, P) and the clients' chart
#  - every chart carries a marker for every journal row; the decisions
#    table has every row; a reason with <script> is escaped
#  - each series has a point per sample (the finest tier at each time),
#    the threshold is drawn where --threshold says, failures are shaded
#  - a missing, foreign or non-SQLite database, a bad client line and an
#    unwritable output give precise messages
set -u
cd "$(dirname "$0")/.."
T=$(mktemp -d /tmp/tc2-report.XXXXXX)
trap 'rm -rf "$T"' EXIT
fails=0
ok() { echo "PASS: $1"; }
ko() { echo "FAIL: $1: $2"; fails=$((fails + 1)); }
R=scripts/report.py
SEED=${SEED:-$RANDOM}
echo "seed $SEED"

# The database and client log, and what they hold (for the checks).
python3 - "$T" "$SEED" <<'EOF' || { echo "cannot build the database"; exit 1; }
import json, random, re, sqlite3, sys
d, seed = sys.argv[1], int(sys.argv[2])
r = random.Random(seed)
doc = open('docs/controller.md').read()
sec = doc[doc.index('## Database'):]
schema = re.search(r'```sql\n(.*?)```', sec, re.S).group(1)
db = sqlite3.connect(d + '/cmmd.db')
db.execute('PRAGMA journal_mode=WAL')
db.executescript(schema)
t0 = 1_700_000_000 + r.randint(0, 10**6)
links = [('popA', 'transit'), ('popA', 'peer1'), ('popB', 'transit')]
n1 = r.randint(60, 120)          # 1 s rows
n10 = r.randint(5, 15)           # 10 s means before them
want = {'t0': t0, 'links': {}, 'journal': []}
for pop, link in links:
    for i in range(n10):         # tier 1, older than every tier-0 row
        db.execute('INSERT INTO samples(ts,pop,link,tier,rtt_p90,probe_loss,routes,link_up) '
                   'VALUES(?,?,?,1,?,?,?,1)', (t0 - 10 * (n10 - i), pop, link, r.uniform(5, 50),
                                               r.uniform(0, .05), r.randint(1000, 9000)))
    for i in range(n1):
        db.execute('INSERT INTO samples(ts,pop,link,tier,rtt_p50,rtt_p90,probe_loss,routes,link_up) '
                   'VALUES(?,?,?,0,?,?,?,?,1)', (t0 + i, pop, link, r.uniform(1, 5), r.uniform(5, 80),
                                                 r.uniform(0, .3), r.randint(1000, 9000)))
        # a 10 s mean over the same time: the 1 s rows win there
        if i % 10 == 0:
            db.execute('INSERT INTO samples(ts,pop,link,tier,rtt_p90,probe_loss,routes) '
                       'VALUES(?,?,?,1,?,?,?)', (t0 + i, pop, link, 1, 0, 1))
        db.execute('INSERT INTO predictions VALUES(?,?,?,600,?,?)',
                   (t0 + i, pop, link, r.random(), '[]'))
    want['links'][pop + '/' + link] = {'samples': n1 + n10, 'predictions': n1}
# POP risk: popA failed for a run of seconds, popB unknown for a few (holes)
want['risk'] = {}
for pop in ('popA', 'popB'):
    unknown = set(range(20, 25)) if pop == 'popB' else set()
    for i in range(n1):
        db.execute('INSERT INTO pop_risk VALUES(?,?,?,?,?)',
                   (t0 + i, pop, r.random(), int(pop == 'popA' and 40 <= i < 55), int(i in unknown)))
    want['risk'][pop] = n1 - len(unknown)
db.execute("INSERT INTO failures(pop,link,onset_ts,end_ts,reason) VALUES('popA','transit',?,?,"
           "'link down')", (t0 + 30, t0 + 50))
steps = [('NORMAL', 'AT_RISK', 'mirror-order', 'risk 0.72 >= 0.60 for 3s'),
         ('AT_RISK', 'STAGED', 'dns-steer', 'hot set verified'),
         ('STAGED', 'FAILED_OVER', 'primary-off', 'popA failed: <script>alert("x")</script> & more'),
         ('FAILED_OVER', 'RECOVERING', 'resync-order', 'popA healthy 30s'),
         ('RECOVERING', 'NORMAL', 'dns-restore', 'resync done')]
for i, (f, t, a, why) in enumerate(steps):
    ts = (t0 + r.randint(0, n1 - 1)) * 1000 + r.randint(0, 999)
    db.execute('INSERT INTO journal(ts_ms,hostname,pop,from_state,to_state,action,target,reason,'
               'status) VALUES(?,?,?,?,?,?,?,?,?)', (ts, 'www.cdn.test', 'popA', f, t, a, 'popB', why,
                                                    'done'))
want['journal'] = [row[0] for row in db.execute('SELECT id FROM journal')]
db.commit()
db.close()
with open(d + '/clients.jsonl', 'w') as f:
    secs = set()
    for i in range(r.randint(200, 400)):
        t = t0 + r.uniform(0, n1)
        secs.add(int(t))
        good = r.random() < 0.8
        f.write(json.dumps({'t': t, 'host': 'www.cdn.test', 'path': '/v/1.mp4',
                            'addr': '198.18.1.80', 'status': 200 if good else 502, 'ok': good,
                            'wrong': False, 'ms': r.uniform(1, 90), 'err': None if good else 'HTTP 502'}) + '\n')
        if i == 7:
            f.write('{"t": 12, "host": \n')         # a torn line
    want['client_seconds'] = max(secs) - min(secs) + 1
json.dump(want, open(d + '/want.json', 'w'))
EOF

# The checks of one report: parse it and compare with what the database holds.
check() { # NAME HTML THRESHOLD [clients]
	python3 - "$T/want.json" "$2" "$3" "${4:-}" <<'EOF'
import html.parser, json, sys
want = json.load(open(sys.argv[1]))
text = open(sys.argv[2]).read()
thr, clients = float(sys.argv[3]), sys.argv[4] == 'clients'
VOID = {'meta', 'br', 'img', 'hr', 'input', 'link', 'line', 'polyline', 'circle', 'rect', 'path'}

class P(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.stack, self.charts, self.errors, self.rows = [], [], [], []
        self.texts = []
        self.svg = None
    def handle_starttag(self, tag, a):
        a = dict(a)
        if tag == 'script' or any(k.startswith('on') for k in a):
            self.errors.append('script: <%s %s>' % (tag, a))
        if tag == 'svg':
            self.svg = {'link': a.get('data-link'), 'metric': a.get('data-metric'),
                        'markers': [], 'polylines': [], 'threshold': [], 'rects': 0}
            self.charts.append(self.svg)
        elif self.svg is not None:
            if tag == 'g' and a.get('class') == 'marker':
                self.svg['markers'].append(int(a['data-journal-id']))
            elif tag == 'polyline':
                self.svg['polylines'].append((a.get('data-series'), a['points'].split()))
            elif tag == 'circle' and a.get('class') == 'point':
                self.svg['polylines'].append((a.get('data-series'), ['%s,%s' % (a['cx'], a['cy'])]))
            elif tag == 'line' and a.get('class') == 'threshold':
                self.svg['threshold'].append(float(a['y1']))
            elif tag == 'rect' and a.get('class') == 'failure':
                self.svg['rects'] += 1
        if tag == 'tr' and 'data-journal-id' in a:
            self.rows.append(int(a['data-journal-id']))
        if tag not in VOID and not (tag in ('line', 'polyline', 'circle', 'rect')):
            self.stack.append(tag)
    def handle_startendtag(self, tag, a):
        self.handle_starttag(tag, a)
        if tag not in VOID:
            self.stack.pop()
    def handle_endtag(self, tag):
        if tag in VOID:
            return
        if not self.stack or self.stack[-1] != tag:
            self.errors.append('</%s> closes <%s>' % (tag, self.stack[-1] if self.stack else None))
        else:
            self.stack.pop()
        if tag == 'svg':
            self.svg = None
    def handle_data(self, d):
        self.texts.append(d)

p = P()
p.feed(text)
p.close()
errs = p.errors + (['unclosed: %s' % p.stack] if p.stack else [])
expect = {(l, m) for l in want['links'] for m in ('rtt_p90', 'probe_loss', 'routes', 'p')}
expect |= {(p, 'risk') for p in want['risk']}
if clients:
    expect.add(('', 'clients'))
got = [(c['link'], c['metric']) for c in p.charts]
if sorted(got) != sorted(expect):
    errs.append('charts %s, want %s' % (sorted(got), sorted(expect)))
for c in p.charts:
    if sorted(c['markers']) != sorted(want['journal']):
        errs.append('%s/%s markers %s, want %s' % (c['link'], c['metric'], c['markers'], want['journal']))
    pts = sum(len(pl[1]) for pl in c['polylines'])
    if c['metric'] in ('rtt_p90', 'probe_loss', 'routes'):
        n = want['links'][c['link']]['samples']
        if pts != n:
            errs.append('%s/%s: %d points, want %d samples' % (c['link'], c['metric'], pts, n))
    if c['metric'] == 'risk' and pts != want['risk'][c['link']]:
        errs.append('%s risk: %d points, want %d' % (c['link'], pts, want['risk'][c['link']]))
    if c['metric'] in ('p', 'risk'):
        if c['metric'] == 'p' and pts != want['links'][c['link']]['predictions']:
            errs.append('%s p: %d points' % (c['link'], pts))
        # y of the threshold: the chart's 0..1 axis (report.py: H=230, MT=48, MB=30)
        y = 230 - 30 - thr * (230 - 48 - 30)
        if len(c['threshold']) != 1 or abs(c['threshold'][0] - y) > 0.11:
            errs.append('%s threshold at %s, want y %.1f' % (c['link'], c['threshold'], y))
    if c['metric'] == 'clients':
        series = {}
        for name, pts in c['polylines']:
            series[name] = series.get(name, 0) + len(pts)
        n = want['client_seconds']
        if series != {'ok': n, 'failed': n}:
            errs.append('clients series %s, want ok and failed with %d points' % (series, n))
    shaded = c['link'] == 'popA/transit' or (c['link'], c['metric']) == ('popA', 'risk')
    if (c['rects'] == 1) != shaded:
        errs.append('%s/%s: %d failure spans' % (c['link'], c['metric'], c['rects']))
if sorted(p.rows) != sorted(want['journal']):
    errs.append('decision rows %s, want %s' % (p.rows, want['journal']))
if '<script' in text or '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; more' not in text:
    errs.append('the reason is not escaped')
if 'popA failed: <script>alert("x")</script> & more' not in ''.join(p.texts):
    errs.append('the reason does not read back as text')
if ('threshold %.2f' % thr) not in text:
    errs.append('no threshold label')
for e in errs:
    print(e, file=sys.stderr)
sys.exit(1 if errs else 0)
EOF
}

$R --db "$T/cmmd.db" --clients "$T/clients.jsonl" -o "$T/r.html" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && check full "$T/r.html" 0.6 clients 2>"$T/chk"; then ok report_charts_markers_table_escaped
else ko report_charts_markers_table_escaped "rc $rc $(head -c 400 "$T/err") $(head -c 1500 "$T/chk")"; fi
if grep -q "^report.py: warning: $T/clients.jsonl:9: skipped, not JSON" "$T/err"; then ok report_torn_client_line_warned
else ko report_torn_client_line_warned "$(cat "$T/err")"; fi
if [ "$(ls -A "$T" | grep -c '^\.report\.')" -eq 0 ]; then ok report_no_temporary_left
else ko report_no_temporary_left "$(ls -A "$T")"; fi

$R --db "$T/cmmd.db" --threshold 0.85 -o "$T/r2.html" 2>"$T/err"
rc=$?
if [ $rc -eq 0 ] && check nocl "$T/r2.html" 0.85 2>"$T/chk"; then ok report_without_clients_threshold_085
else ko report_without_clients_threshold_085 "rc $rc $(head -c 400 "$T/err") $(head -c 1500 "$T/chk")"; fi

# The output is replaced whole: an older report is not mixed with the new one.
cp "$T/r.html" "$T/r3.html"
$R --db "$T/cmmd.db" -o "$T/r3.html" 2>/dev/null
if ! grep -q 'data-metric="clients"' "$T/r3.html" && check nocl "$T/r3.html" 0.6 2>/dev/null; then
	ok report_replaces_output; else ko report_replaces_output "old content left"; fi

# ---- errors ----------------------------------------------------------------------
expect_err() { # NAME WANT CMD...
	local name=$1 want=$2
	shift 2
	"$@" >"$T/out" 2>"$T/err"
	local rc=$?
	if [ $rc -eq 1 ] && [ "$(cat "$T/err")" = "$want" ]; then ok "$name"
	else ko "$name" "rc $rc: $(cat "$T/err") (want: $want)"; fi
}
expect_err report_missing_db "report.py: cannot open database $T/none.db: no such file" \
	$R --db "$T/none.db" -o "$T/x.html"
printf 'not sqlite at all\n' >"$T/text.db"
expect_err report_not_sqlite "report.py: $T/text.db is not a presage controller database: file is not a database" \
	$R --db "$T/text.db" -o "$T/x.html"
sqlite3 "$T/other.db" 'CREATE TABLE users(id INTEGER, name TEXT); CREATE TABLE samples(x);'
expect_err report_foreign_db "report.py: $T/other.db is not a presage controller database: no table predictions, journal (expected the schema of docs/controller.md \"Database\")" \
	$R --db "$T/other.db" -o "$T/x.html"
sqlite3 "$T/old.db" 'CREATE TABLE samples(ts, pop, link, tier); CREATE TABLE predictions(ts, pop, link, horizon_s, p); CREATE TABLE journal(id, ts_ms);'
expect_err report_missing_column "report.py: table samples has no column rtt_p90, probe_loss, routes (expected the schema of docs/controller.md \"Database\")" \
	$R --db "$T/old.db" -o "$T/x.html"
expect_err report_missing_client_log "report.py: cannot read client log $T/none.jsonl: No such file or directory" \
	$R --db "$T/cmmd.db" --clients "$T/none.jsonl" -o "$T/x.html"
expect_err report_unwritable_output "report.py: cannot write $T/no/dir/x.html: No such file or directory" \
	$R --db "$T/cmmd.db" -o "$T/no/dir/x.html"
python3 -c "import sqlite3,re,sys; s=open('docs/controller.md').read(); s=s[s.index('## Database'):]; sqlite3.connect(sys.argv[1]).executescript(re.search(r'\`\`\`sql\n(.*?)\`\`\`', s, re.S).group(1))" "$T/empty.db"
expect_err report_empty_db "report.py: $T/empty.db has no samples, predictions or journal rows to report" \
	$R --db "$T/empty.db" -o "$T/x.html"
$R --db "$T/cmmd.db" --threshold 2 -o "$T/x.html" >/dev/null 2>"$T/err"
if [ $? -eq 2 ] && grep -q 'threshold must be within 0..1, got 2' "$T/err"; then ok report_bad_threshold
else ko report_bad_threshold "$(cat "$T/err")"; fi
if $R --help | grep -q -- '--clients'; then ok report_help; else ko report_help "no usage"; fi

[ $fails -eq 0 ]
