#!/usr/bin/python3
"""Check a Prometheus text exposition (version 0.0.4) strictly: it must parse
with prometheus_client's parser, and keep the format's rules that parser is
lenient about -- HELP then TYPE before a family's samples, one family per
name, a family's samples together, counters named *_total, histogram
buckets cumulative and +Inf equal to _count.  Prints the family and sample
counts; an AssertionError (exit 1) names the first broken rule.
Used by tests/host/metrics.sh and tests/cluster/metrics.sh.
Usage: prom_check.py FILE"""
import math, re, sys
from prometheus_client.parser import text_string_to_metric_families
text = open(sys.argv[1]).read()
fams = list(text_string_to_metric_families(text))
assert fams, "no families"
# The rules the parser is lenient about, checked line by line.
name_re = re.compile(r'^[a-zA-Z_:][a-zA-Z0-9_:]*$')
declared, order, cur, types = {}, [], None, {}
hist = {}
def family_of(n):
    if n in types: return n, ''
    for s in ('_bucket', '_sum', '_count'):
        if n.endswith(s) and types.get(n[:-len(s)]) == 'histogram':
            return n[:-len(s)], s
    return None, None
assert text.endswith('\n')
for line in text.split('\n')[:-1]:
    if line.startswith('# HELP '):
        n = line.split(' ')[2]
        assert name_re.match(n), n
        assert n not in declared, 'family declared twice: ' + n
        declared[n] = 'help'; cur = n; order.append(n)
        continue
    if line.startswith('# TYPE '):
        _, _, n, t = line.split(' ')
        assert n == cur and declared[n] == 'help', 'TYPE without HELP: ' + n
        assert t in ('gauge', 'counter', 'histogram'), t
        if t == 'counter': assert n.endswith('_total'), n
        declared[n] = 'typed'; types[n] = t
        continue
    assert not line.startswith('#') and line, 'stray line: %r' % line
    m = re.match(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (\S+)$', line)
    assert m, 'bad sample line: %r' % line
    f, suffix = family_of(m.group(1))
    assert f is not None, 'sample of no declared family: ' + line
    assert f == cur, 'sample away from its family: ' + line
    float(m.group(3))
    if types[f] == 'histogram':
        h = hist.setdefault(f, {'le': -math.inf, 'b': 0, 'inf': None, 'count': None})
        v = float(m.group(3))
        if suffix == '_bucket':
            le = re.search(r'le="([^"]+)"', m.group(2)).group(1)
            le = math.inf if le == '+Inf' else float(le)
            assert le > h['le'] and v >= h['b'], 'buckets not monotone: ' + line
            h['le'], h['b'] = le, v
            if le == math.inf: h['inf'] = v
        elif suffix == '_count':
            h['count'] = v
for f, h in hist.items():
    assert h['inf'] is not None and h['inf'] == h['count'], f + ': +Inf != _count'
print('families %d samples %d' % (len(fams), sum(len(x.samples) for x in fams)))
