"""Compares Spectral OWASP findings with ensuresec's on one description (bench/prevention.sh).

Prints a Markdown section: counts per OWASP category, what each finds that the other misses
(by category and operation), mechanical noise counts, and the time of both with the ratio.
"""
import collections
import json
import re
import sys

name, spectral_file, ours_file, t_spectral, t_ours = sys.argv[1:6]
spectral = json.load(open(spectral_file))
ours = json.load(open(ours_file))["findings"]
METHODS = {"get", "put", "post", "delete", "options", "head", "patch", "trace"}


def where(tokens):
    """The operation a location belongs to (`GET /path`), or its top-level section."""
    if len(tokens) >= 2 and tokens[0] == "paths":
        method = tokens[2] if len(tokens) > 2 and tokens[2] in METHODS else "*"
        return f"{method.upper()} {tokens[1]}"
    return tokens[0] if tokens else "(root)"


def unescape(t):
    return t.replace("~1", "/").replace("~0", "~")


s_items = []
for f in spectral:
    m = re.match(r"owasp:(api\d+):2023", f.get("code", ""))
    if not m:
        continue
    path = [str(p) for p in f.get("path", [])]
    s_items.append((m.group(1).upper(), where(path), f["code"], path))
o_items = []
for f in ours:
    tokens = [unescape(t) for t in f["pointer"].split("/")[1:]]
    if not f["file"].endswith(name):
        tokens = ["components"]  # a finding in a referenced file: counted as a shared definition
    o_items.append((f["owasp"].split(":")[0], where(tokens), f["rule"], tokens))

cats = sorted({c for c, *_ in s_items + o_items}, key=lambda c: int(c[3:]))
print(f"### {name}\n")
print("| OWASP | Spectral findings | ensuresec findings | only Spectral (category, operation) | only ensuresec (category, operation) |")
print("|---|---|---|---|---|")
for c in cats:
    s_keys = {w for cc, w, *_ in s_items if cc == c}
    o_keys = {w for cc, w, *_ in o_items if cc == c}
    only_s = sorted(s_keys - o_keys)
    only_o = sorted(o_keys - s_keys)
    fmt = lambda xs: ", ".join(f"`{x}`" for x in xs[:6]) + (f" … (+{len(xs) - 6})" if len(xs) > 6 else "") if xs else "—"
    print(f"| {c} | {sum(1 for x in s_items if x[0] == c)} | {sum(1 for x in o_items if x[0] == c)} | {fmt(only_s)} | {fmt(only_o)} |")
print(f"| all | {len(s_items)} | {len(o_items)} | | |\n")

# Mechanical noise: input-size rules fired on response schemas (a response is not an input),
# and the same location reported twice by two rules of one category.
LIMIT = re.compile(r"owasp:api4:2023-(string-limit|string-restricted|array-limit|integer-limit|integer-format|integer-limit-legacy)")
resp = sum(1 for _, _, code, path in s_items if LIMIT.match(code) and "responses" in path)
ours_resp = sum(1 for _, _, rule, tokens in o_items if rule.startswith("unbounded-") and "responses" in tokens)
dup_s = sum(n - 1 for n in collections.Counter((c, "/".join(p)) for c, _, _, p in s_items).values() if n > 1)
dup_o = sum(n - 1 for n in collections.Counter((c, "/".join(t)) for c, _, _, t in o_items).values() if n > 1)
print(f"Noise (mechanical): input-limit findings on response schemas — Spectral {resp}, ensuresec {ours_resp}; "
      f"second findings on the same location in the same category — Spectral {dup_s}, ensuresec {dup_o}.\n")
ratio = float(t_spectral) / max(float(t_ours), 1e-9)
print(f"Time (wall, median): Spectral {t_spectral} ms, ensuresec {t_ours} ms — ratio {ratio:.1f}×.\n")
