#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Controller API documents (docs/controller.md "API") with seeded random
values, and the checks that presage's tables show them (tests/t-cli-ctl.sh).

  ctldocs.py gen SEED ROUTES            write the routes file ctlserver.py serves
  ctldocs.py table CMD OUT ROUTES       OUT (presage CMD's table) shows every value
                                        of the document, formatted as presage does
  ctldocs.py json OUT ROUTES KEY [NAME] OUT is one line whose JSON equals the
                                        document at route KEY (dns: only NAME)
  ctldocs.py quote TEXT                 TEXT escaped as in a query string
  ctldocs.py mutate SEED ROUTES         rewrite ROUTES' documents: about a third of
                                        their values (not "schema") swapped for a
                                        value of another type

Exit status 0 when the check holds, else 1 with what differed on stderr.
"""
import json
import math
import random
import sys
import time
import urllib.parse

SCHEMA = 'presage.ctl/1'


def q(s):
    return urllib.parse.quote(s, safe='')


# ---- formatting, as user/cli_ctl.c does it -----------------------------------

def hms(t):
    return time.strftime('%H:%M:%S', time.localtime(math.floor(t)))


def si(v, unit):
    pfx = ['', 'k', 'M', 'G', 'T', 'P']
    i = 0
    while abs(v) >= 999.95 and i < 5:
        v /= 1000
        i += 1
    return ('%.1f%s%s' if i else '%.0f%s%s') % (v, pfx[i], unit)


def pct(v):
    return '%.1f%%' % (v * 100)


def age(v):
    return ('%.1fs' if v < 100 else '%.0fs') % v


def yn(b, yes='yes', no='no'):
    return yes if b else no


def top(arr):
    return ' '.join('%s(%+.2f)' % (t['feature'], t['contribution']) for t in arr[:3])


# ---- documents ---------------------------------------------------------------

def gen(seed):
    r = random.Random(seed)
    now = time.time()
    u = lambda a, b: round(r.uniform(a, b), 4)
    pops = ['popA', 'popB', 'popC']
    regions = ['eu', 'us', 'eu']
    status_pops, pop_docs = [], []
    for i, p in enumerate(pops):
        reach = i != 2
        sp = {'name': p, 'region': regions[i], 'state': ['at-risk', 'ok', 'unknown'][i],
              'risk': u(0, 1), 'why': ['risk 0.71 >= enter 0.60', None, 'agent unreachable'][i],
              'agent': {'reachable': reach, 'age_s': u(0.1, 9),
                        # a control character must not reach the terminal
                        'error': None if reach else 'connect: \u001b[31mConnection refused'}}
        status_pops.append(sp)
        pd = dict(sp)
        pd.update({'addresses': ['198.18.%d.80' % (i + 1), '2001:db8:%d::80' % (i + 1)],
                   'links': ['transit', 'peer%d' % r.randint(1, 9)],
                   'free': r.randint(10**9, 9 * 10**12), 'bw': r.randint(10**6, 9 * 10**8),
                   'storage_cost': u(0.001, 0.1)})
        pop_docs.append(pd)
    hosts = [{'name': 'www.cdn.test', 'primary': 'popA', 'serving': 'popB', 'state': 'STAGED',
              'since': now - r.uniform(10, 3000), 'target': 'popB', 'addresses': ['198.18.2.80']},
             {'name': 'img.cdn.test', 'primary': 'popB', 'serving': 'popB', 'state': 'NORMAL',
              'since': now - r.uniform(3000, 9000), 'target': None,
              'addresses': ['198.18.2.80', '2001:db8:2::80']}]
    status = {'schema': SCHEMA, 'version': '0.%d-test' % r.randint(1, 99),
              'started': now - r.uniform(100, 9000), 'now': now, 'pops': status_pops,
              'hostnames': hosts, 'journal_pending': r.randint(0, 9)}
    links = []
    for p in pops:
        for l in ['transit', 'peer1']:
            links.append({'pop': p, 'link': l, 'age_s': u(0.1, 9), 'stale': r.random() < 0.3,
                          'link_up': r.random() < 0.7, 'rtt_p90_ms': u(1, 300),
                          'probe_rtt_ms': u(1, 300), 'probe_loss': u(0, 0.5),
                          'retrans_out': u(0, 0.1), 'rx_bps': r.uniform(1e3, 9e10),
                          'tx_bps': r.uniform(1, 9e9), 'util': u(0, 1),
                          'routes': r.randint(0, 900000), 'withdrawals': r.randint(0, 5000),
                          'p': u(0, 1), 'horizon_s': 600, 'in_failure': r.random() < 0.3})
    feats = ['rtt_level', 'rtt_trend', 'loss', 'util', 'bgp_churn', 'prefix_loss', 'volatility']

    def features():
        return [{'feature': f, 'value': u(-5, 5), 'weight': u(-2, 2), 'contribution': u(-3, 3)}
                for f in feats]

    predict = {'schema': SCHEMA, 'horizon_s': 600, 'links': []}
    for l in links:
        fs = sorted(features(), key=lambda f: -abs(f['contribution']))
        predict['links'].append({'pop': l['pop'], 'link': l['link'], 'p': l['p'],
                                 'logit': u(-6, 6), 'warm': r.random() < 0.8,
                                 'in_failure': l['in_failure'],
                                 'top': [{k: f[k] for k in ('feature', 'value', 'contribution')}
                                         for f in fs[:3]]})
    ex = dict(predict['links'][0])
    del ex['top']
    ex['features'] = features()       # in the model's order, not sorted
    explain = {'schema': SCHEMA, 'horizon_s': 600, 'links': [ex]}
    t0 = now - 500
    events = {'schema': SCHEMA, 'events': []}
    steps = [('NORMAL', 'AT_RISK', 'mirror-order', 'popB',
              'risk(popA) 0.72 >= enter 0.60 for 3s: rtt_level(+1.9)'),
             ('AT_RISK', 'STAGED', 'dns-steer', 'popB', 'hot set verified: 42 items'),
             ('STAGED', 'FAILED_OVER', 'primary-off', 'popA',
              'popA failed: transit down <script>alert(1)</script>')]
    for i, (f, t, a, tg, why) in enumerate(steps):
        ts = int((t0 + 60 * i + r.uniform(0, 50)) * 1000)
        events['events'].append({'id': i + 1, 'ts_ms': ts, 'hostname': 'www.cdn.test',
                                 'pop': 'popA', 'from_state': f, 'to_state': t, 'action': a,
                                 'target': tg, 'reason': why, 'status': 'done',
                                 'done_ts_ms': ts + 40, 'detail': None})
    samples = []
    for i in range(4):
        samples.append({'ts': int(now - 40 + 10 * i), 'pop': 'popA', 'link': 'transit',
                        'tier': 0, 'rtt_p50': u(1, 50), 'rtt_p90': u(50, 100),
                        'rtt_p99': u(100, 200), 'probe_rtt': u(1, 100),
                        'probe_loss': u(0, 0.2), 'retrans_in': u(0, 0.05),
                        'retrans_out': u(0, 0.05), 'rx_bps': r.uniform(1e6, 1e10),
                        'tx_bps': r.uniform(1e6, 1e10), 'util': u(0, 1),
                        'routes': r.randint(1, 900000), 'announcements': r.randint(0, 99),
                        'withdrawals': r.randint(0, 99), 'link_up': r.randint(0, 1)})
    preds = [{'ts': int(now - 40 + 10 * i), 'pop': 'popA', 'link': 'transit', 'horizon_s': 600,
              'p': u(0, 1), 'top': predict['links'][0]['top']} for i in range(3)]
    # cmmd passes the database's predictions.top column on as JSON text
    preds[1]['top'] = json.dumps(preds[1]['top'])
    history = {'schema': SCHEMA, 'samples': samples, 'predictions': preds}
    plan = {'at_risk': 'popA', 'destination': 'popB', 'rate': u(1, 50), 'total_rate': u(50, 99),
            'bytes': r.randint(10**6, 10**10), 'cost': u(0, 9), 'eta_s': u(1, 500),
            'lead_s': 600.0,
            'candidates': [{'pop': 'popB', 'eligible': True, 'rate': u(1, 50),
                            'why': 'linked, region eu, 2.0 TB free'},
                           {'pop': 'popC', 'eligible': False, 'rate': 0,
                            'why': 'residency: www.cdn.test may not be stored in us'}],
            'items': [{'path': '/www.cdn.test/v/%d.mp4' % i, 'chosen': i < 2,
                       'why': 'rank %d, %d req/s' % (i + 1, r.randint(1, 99))}
                      for i in range(3)]}
    jobs = {'schema': SCHEMA, 'jobs': [
        {'order_id': 'o-%d' % (i + 1), 'journal_id': i + 1, 'hostname': 'www.cdn.test',
         'source': 'popA', 'dest': 'popB', 'items': r.randint(1, 500),
         'bytes': r.randint(1, 10**11), 'state': ['verified', 'running'][i],
         'created_ms': int((now - 300) * 1000) + i, 'updated_ms': int((now - 100) * 1000) + i,
         'cost': u(0, 9), 'needed': [None, 0][i]} for i in range(2)]}
    dns = {'schema': SCHEMA, 'hostnames': [
        {'name': 'www.cdn.test', 'want': ['198.18.2.80'], 'have': ['198.18.2.80'],
         'flag': {'state': 'staged', 'from': 'popA', 'to': 'popB', 'seq': str(r.randint(1, 99))},
         'serial': r.randint(1, 2**31), 'in_sync': True, 'error': None},
        {'name': 'img.cdn.test', 'want': ['198.18.2.80', '2001:db8:2::80'], 'have': ['198.18.1.80'],
         'flag': {}, 'serial': r.randint(1, 2**31), 'in_sync': False,
         'error': 'UPDATE refused: NOTAUTH'}]}
    ok = lambda d: {'status': 200, 'body': d}
    nf = lambda what: {'status': 404, 'body': {'schema': SCHEMA, 'error': what}}
    return {
        '/v1/status': ok(status),
        '/v1/pops': ok({'schema': SCHEMA, 'pops': pop_docs}),
        '/v1/links': ok({'schema': SCHEMA, 'links': links}),
        '/v1/predict': ok(predict),
        '/v1/predict?link=' + q('popA/transit'): ok(explain),
        '/v1/predict?link=' + q('popZ/nope'): nf('unknown link popZ/nope'),
        '/v1/events': ok(events),
        '/v1/history?link=' + q('popA/transit'): ok(history),
        '/v1/history': nf('unknown link popZ/nope'),
        '/v1/mirror/plan?pop=popA': ok(plan),
        '/v1/mirror/plan?pop=popZ': nf('unknown POP popZ'),
        '/v1/mirror/jobs': ok(jobs),
        '/v1/dns': ok(dns),
    }


# ---- mutations ---------------------------------------------------------------

def mutate(seed, routes):
    r = random.Random(seed)
    odd = [None, True, 0, -1, 1e308, -1e-308, 2**63, '', 'x' * 5000, '\u001b]0;pwned\u0007',
           'caf\u00e9 \u2603', [], [None, 1, 'a', {}], {}, {'a': {'b': [1]}}]

    def walk(v):
        if isinstance(v, dict):
            return {k: (x if k == 'schema' else r.choice(odd) if r.random() < 0.3 else walk(x))
                    for k, x in v.items()}
        if isinstance(v, list):
            return [r.choice(odd) if r.random() < 0.3 else walk(x) for x in v]
        return v
    for key, route in routes.items():
        if 'body' in route and route['status'] == 200:
            route['body'] = walk(route['body'])
    return routes


# ---- checks --------------------------------------------------------------------

def find_row(lines, cells, what):
    """The line that holds every cell, in order."""
    for ln in lines:
        pos = 0
        for c in cells:
            i = ln.find(c, pos)
            if i < 0:
                break
            pos = i + len(c)
        else:
            return ln
    raise AssertionError('%s: no line with %r' % (what, cells))


def rows_for(cmd, routes):
    """(what, [cells]) that must appear, each on one line, in order."""
    b = lambda k: routes[k]['body']
    out = []
    if cmd == 'status':
        s = b('/v1/status')
        out.append(('header', ['controller ' + s['version'], 'started ' + hms(s['started']),
                               'now ' + hms(s['now']),
                               'journal pending %d' % s['journal_pending']]))
        for p in s['pops']:
            ag = p['agent']
            err = (ag['error'] or '-').replace('\u001b', '?')
            out.append((p['name'], [p['name'], p['region'], p['state'], '%.2f' % p['risk'],
                                    yn(ag['reachable'], 'ok', 'unreachable'), age(ag['age_s']),
                                    p['why'] or '-', err]))
        for h in s['hostnames']:
            out.append((h['name'], [h['name'], h['state'], h['primary'], h['serving'],
                                    h['target'] or '-', hms(h['since']),
                                    ','.join(h['addresses'])]))
    elif cmd == 'pops':
        for p in b('/v1/pops')['pops']:
            out.append((p['name'], [p['name'], p['region'], p['state'], '%.2f' % p['risk'],
                                    yn(p['agent']['reachable'], 'ok', 'unreachable'),
                                    si(p['free'], 'B'), si(p['bw'], 'B/s'),
                                    '%.4g' % p['storage_cost'], ','.join(p['addresses']),
                                    ','.join(p['links'])]))
    elif cmd == 'links':
        for l in b('/v1/links')['links']:
            flags = ','.join(f for f, on in (('stale', l['stale']),
                                             ('in-failure', l['in_failure'])) if on) or '-'
            out.append((l['pop'] + '/' + l['link'],
                        [l['pop'] + '/' + l['link'], yn(l['link_up'], 'up', 'down'),
                         '%.1fms' % l['rtt_p90_ms'], '%.1fms' % l['probe_rtt_ms'],
                         pct(l['probe_loss']), pct(l['retrans_out']), si(l['rx_bps'], 'bit/s'),
                         si(l['tx_bps'], 'bit/s'), pct(l['util']), '%d' % l['routes'],
                         '%d' % l['withdrawals'], '%.2f' % l['p'], '%ds' % l['horizon_s'],
                         age(l['age_s']), flags]))
    elif cmd == 'predict':
        d = b('/v1/predict')
        out.append(('horizon', ['horizon %ds' % d['horizon_s']]))
        for l in d['links']:
            out.append((l['pop'] + '/' + l['link'],
                        [l['pop'] + '/' + l['link'], '%.2f' % l['p'], '%+.2f' % l['logit'],
                         yn(l['warm']), yn(l['in_failure']), top(l['top'])]))
    elif cmd == 'explain':
        d = b('/v1/predict?link=' + q('popA/transit'))
        l = d['links'][0]
        out.append(('summary', ['popA/transit', 'p %.2f' % l['p'], 'logit %+.2f' % l['logit'],
                                'horizon %ds' % d['horizon_s']]))
        for f in l['features']:
            out.append((f['feature'], [f['feature'], '%.4g' % f['value'], '%.4g' % f['weight'],
                                       '%+.3f' % f['contribution']]))
    elif cmd.startswith('events'):
        since = int(cmd.split(':')[1]) if ':' in cmd else 0
        for e in b('/v1/events')['events']:
            if e['id'] <= since:
                continue
            out.append(('event %d' % e['id'],
                        ['%d' % e['id'], hms(e['ts_ms'] / 1000), e['hostname'], e['pop'],
                         e['from_state'] + '->' + e['to_state'], e['action'], e['target'],
                         e['status'], e['reason']]))
    elif cmd == 'history':
        h = b('/v1/history?link=' + q('popA/transit'))
        out.append(('count', ['popA/transit: %d samples' % len(h['samples'])]))
        for s in h['samples']:
            out.append(('sample %d' % s['ts'],
                        [hms(s['ts']), '%d' % s['tier'], yn(s['link_up'], 'up', 'down'),
                         '%.1fms' % s['rtt_p50'], '%.1fms' % s['rtt_p90'],
                         '%.1fms' % s['rtt_p99'], '%.1fms' % s['probe_rtt'],
                         pct(s['probe_loss']), pct(s['retrans_out']), si(s['rx_bps'], 'bit/s'),
                         si(s['tx_bps'], 'bit/s'), pct(s['util']), '%d' % s['routes'],
                         '%d' % s['withdrawals']]))
        out.append(('count', ['popA/transit: %d predictions' % len(h['predictions'])]))
        for p in h['predictions']:
            out.append(('prediction %d' % p['ts'],
                        [hms(p['ts']), '%ds' % p['horizon_s'], '%.2f' % p['p'],
                         top(json.loads(p['top']) if isinstance(p['top'], str) else p['top'])]))
    elif cmd == 'plan':
        p = b('/v1/mirror/plan?pop=popA')
        out.append(('head', ['at-risk %s -> destination %s' % (p['at_risk'], p['destination'])]))
        out.append(('covers', ['covers %.2f of %.2f req/s, %s, cost %.4f, eta %.0fs (lead %.0fs)' % (
            p['rate'], p['total_rate'], si(p['bytes'], 'B'), p['cost'], p['eta_s'],
            p['lead_s'])]))
        for c in p['candidates']:
            out.append((c['pop'], ['candidate', c['pop'], c['why']]))
        for it in p['items']:
            out.append((it['path'], ['+' if it['chosen'] else '-', it['path'], it['why']]))
    elif cmd == 'list':
        for j in b('/v1/mirror/jobs')['jobs']:
            needed = '-' if j['needed'] is None else yn(j['needed'])
            out.append((j['order_id'], [j['order_id'], '%d' % j['journal_id'], j['hostname'],
                                        j['source'], j['dest'], '%d' % j['items'],
                                        si(j['bytes'], 'B'), j['state'], '%.4g' % j['cost'],
                                        needed, hms(j['created_ms'] / 1000),
                                        hms(j['updated_ms'] / 1000)]))
    elif cmd == 'show':
        for h in b('/v1/dns')['hostnames']:
            flag = ' '.join('%s=%s' % kv for kv in h['flag'].items()) or '-'
            out.append((h['name'], [h['name'], yn(h['in_sync'], 'yes', 'NO'), ','.join(h['want']),
                                    ','.join(h['have']), '%d' % h['serial'], flag,
                                    h['error'] or '-']))
    else:
        raise SystemExit('unknown command ' + cmd)
    return out


def check_table(cmd, outfile, routes):
    text = open(outfile).read()
    if '\u001b' in text:
        raise AssertionError('an escape character reached the output')
    lines = text.splitlines()
    for what, cells in rows_for(cmd, routes):
        find_row(lines, cells, what)
    if cmd == 'explain':
        # features largest |contribution| first
        feats = routes['/v1/predict?link=' + q('popA/transit')]['body']['links'][0]['features']
        want = [f['feature'] for f in sorted(feats, key=lambda f: -abs(f['contribution']))]
        got = [ln.split()[0] for ln in lines if ln.split() and ln.split()[0] in want]
        if got != want:
            raise AssertionError('explain order %s, want %s' % (got, want))
    if cmd.startswith('events'):
        since = int(cmd.split(':')[1]) if ':' in cmd else 0
        for e in routes['/v1/events']['body']['events']:
            n = sum(1 for ln in lines if ln.split() and ln.split()[0] == str(e['id']))
            if n != (0 if e['id'] <= since else 1):
                raise AssertionError('event %d printed %d times' % (e['id'], n))


def check_json(outfile, routes, key, name=None):
    lines = open(outfile).read().splitlines()
    if len(lines) != 1:
        raise AssertionError('%d lines, want one document on one line' % len(lines))
    got = json.loads(lines[0])
    want = routes[key]['body']
    if name:
        want = dict(want)
        want['hostnames'] = [h for h in want['hostnames'] if h['name'] == name]
    if got != want:
        raise AssertionError('document differs:\n got %s\nwant %s' % (got, want))


def main():
    a = sys.argv[1:]
    try:
        if len(a) == 3 and a[0] == 'gen':
            with open(a[2] + '.tmp', 'w') as f:
                json.dump(gen(int(a[1])), f)
            import os
            os.rename(a[2] + '.tmp', a[2])
        elif len(a) == 4 and a[0] == 'table':
            check_table(a[1], a[2], json.load(open(a[3])))
        elif len(a) in (4, 5) and a[0] == 'json':
            check_json(a[1], json.load(open(a[2])), a[3], a[4] if len(a) == 5 else None)
        elif len(a) == 3 and a[0] == 'mutate':
            routes = mutate(int(a[1]), json.load(open(a[2])))
            with open(a[2] + '.tmp', 'w') as f:
                json.dump(routes, f)
            import os
            os.rename(a[2] + '.tmp', a[2])
        elif len(a) == 2 and a[0] == 'quote':
            print(q(a[1]))
        else:
            raise SystemExit(__doc__)
    except (AssertionError, ValueError, KeyError) as e:
        print('%s: %s' % (type(e).__name__, e), file=sys.stderr)
        sys.exit(1)


if __name__ == '__main__':
    main()
