"""Checks an embarc export with the web archivists' own tools (run by
tests/replay.rs): the WACZ's compressed index equals what cdxj-indexer
computes for the same WARC, line by line; its .idx points at each block; and
pywb, serving the collection `wb-manager add --unpack-wacz` made from the
WACZ, replays every response and resource record of the WARC: same status,
bytes equal after content decoding, each short link's redirect, and each
page of pages.jsonl as HTML holding its post's text (an article's rendered
page, its cards).

usage: replay_check.py WARC WACZ REPLAY_BASE   (REPLAY_BASE: http://127.0.0.1:PORT/COLL/)
Prints one line per check group; exits non-zero on the first failure.
"""
import gzip
import html
import json
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
import zipfile

from warcio.archiveiterator import ArchiveIterator

warc, wacz, base = sys.argv[1:4]
z = zipfile.ZipFile(wacz)


def parse(line):
    key, ts, js = line.split(" ", 2)
    fields = json.loads(js)
    fields.pop("filename", None)  # data.warc.gz inside the WACZ, the WARC's name outside
    return key, ts, fields


# 1. The index, against cdxj-indexer's (capture records are embarc's own
#    metadata, not web content: neither index holds them).
ours = gzip.decompress(z.read("indexes/index.cdx.gz")).decode().splitlines()
theirs = subprocess.run(
    ["cdxj-indexer", "--sort", "--records", "response,revisit,resource", warc],
    capture_output=True, text=True, check=True,
).stdout.splitlines()
assert ours, "empty index"
assert len(ours) == len(theirs), f"{len(ours)} lines, cdxj-indexer {len(theirs)}"
for a, b in zip(ours, theirs):
    assert parse(a) == parse(b), f"\nembarc:       {a}\ncdxj-indexer: {b}"
print(f"index: {len(ours)} lines equal to cdxj-indexer's")

idx = z.read("indexes/index.idx").decode().splitlines()
assert idx[0].startswith("!meta 0 ") and json.loads(idx[0][8:])["format"] == "cdxj-gzip-1.0", idx[0]
data = z.read("indexes/index.cdx.gz")
seen = 0
for line in idx[1:]:
    prefix, js = line.split(" {", 1)
    d = json.loads("{" + js)
    block = gzip.decompress(data[d["offset"]:d["offset"] + d["length"]]).decode()
    assert block.startswith(prefix + " "), (prefix, block[:100])
    seen += len(block.splitlines())
assert seen == len(ours), (seen, len(ours))
print(f"idx: {len(idx) - 1} blocks cover the index")


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


opener = urllib.request.build_opener(NoRedirect)


def get(ts, url):
    req = urllib.request.Request(f"{base}{ts}id_/{url}", headers={"Accept-Encoding": "identity"})
    try:
        r = opener.open(req, timeout=30)
        status, headers, body = r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        status, headers, body = e.code, e.headers, e.read()
    if (headers.get("Content-Encoding") or "").lower() == "gzip":
        body = gzip.decompress(body)
    return status, headers, body


def ts14(warc_date):
    return "".join(c for c in warc_date if c.isdigit())[:14]


# 2. Replay of every response and resource record.
texts = {}
counts = {"response": 0, "redirect": 0, "resource": 0}
with open(warc, "rb") as f:
    for rec in ArchiveIterator(f):
        url = rec.rec_headers.get_header("WARC-Target-URI")
        ts = ts14(rec.rec_headers.get_header("WARC-Date"))
        if rec.rec_type == "metadata":
            capture = json.loads(rec.content_stream().read())
            text = (capture.get("normalized") or {}).get("text") or ""
            texts[url] = text
            continue
        if rec.rec_type not in ("response", "resource"):
            continue
        expected = rec.content_stream().read()
        status, headers, body = get(ts, url)
        if rec.rec_type == "response":
            want = int(rec.http_headers.get_statuscode())
            assert status == want, f"{url} at {ts}: pywb {status}, WARC {want}"
            if 300 <= want < 400:
                location = rec.http_headers.get_header("Location")
                assert location and location in urllib.parse.unquote(headers.get("Location") or ""), (
                    f"{url}: Location {headers.get('Location')!r}, WARC {location!r}")
                counts["redirect"] += 1
            else:
                assert body == expected, f"{url} at {ts}: {len(body)} bytes replayed, {len(expected)} in the WARC"
                counts["response"] += 1
        else:
            assert status == 200, f"{url} at {ts}: pywb {status}"
            want = rec.rec_headers.get_header("Content-Type").split(";")[0]
            assert (headers.get("Content-Type") or "").startswith(want), (url, headers.get("Content-Type"), want)
            assert body == expected, f"{url}: page bytes differ"
            counts["resource"] += 1
print(f"replay: {counts['response']} responses byte-equal, {counts['redirect']} redirects, {counts['resource']} resources (pages, stylesheet)")

# 3. Every page of pages.jsonl opens as HTML holding its post's text.
pages = [json.loads(l) for l in z.read("pages/pages.jsonl").decode().splitlines()[1:]]
assert pages, "no pages"
with_text = 0
rendered = 0
for p in pages:
    status, headers, body = get(ts14(p["ts"]), p["url"])
    assert status == 200, f"page {p['url']}: {status}"
    assert (headers.get("Content-Type") or "").startswith("text/html"), f"page {p['url']}: {headers.get('Content-Type')}"
    page = html.unescape(body.decode("utf-8", "replace"))
    words = " ".join(texts.get(p["url"], "").split()[:4])
    if words:
        assert words in " ".join(page.split()), f"page {p['url']}: {words!r} not in it"
        with_text += 1
    if p["url"].startswith("https://embarc.invalid/articles/"):
        # An article rendered: its cards in place of its embeds.
        assert 'data-embarc-post="' in page, f"page {p['url']}: no card in it"
        rendered += 1
print(f"pages: {len(pages)} open as HTML, {with_text} with their post's text, {rendered} articles with their cards")
