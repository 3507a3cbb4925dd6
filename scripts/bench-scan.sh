#!/usr/bin/env bash
# End-to-end scan throughput of the real binary over folders on a tmpfs: the
# corpus repeated to >= 200 MB, and an embed-free folder of the same size, on one
# core (-j 1) and on all cores. In-process figures come from
# `cargo bench --bench scan`; this adds reading files and printing JSON.
set -euo pipefail
cd "$(dirname "$0")/.."
corpus=${EMBARC_CORPUS:-tests/fixtures/corpus/articles}
mb=${EMBARC_BENCH_MB:-200}
work=$(mktemp -d /dev/shm/embarc-bench.XXXXXX)
trap 'rm -rf "$work"' EXIT

cargo build --release --quiet
bin=target/release/embarc

# Corpus copies until the folder holds >= $mb MB.
mkdir -p "$work/corpus" "$work/free"
size=0; round=0
while [ "$size" -lt $((mb * 1000000)) ]; do
  mkdir -p "$work/corpus/$round"
  cp "$corpus"/*.html "$corpus"/*.md "$corpus"/*.txt "$work/corpus/$round/"
  size=$(du -sb "$work/corpus" | cut -f1); round=$((round + 1))
done

# Embed-free articles: the corpus' text with every line that could hint at an
# embed removed, as 20 KB files.
python3 - "$corpus" "$work/free" "$mb" <<'PY'
import os, re, sys
src, dst, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
hint = re.compile(r"twitt|x\.com|t\.co|tweet|youtu|instagr|tiktok|bsky|bluesky|threads|facebook|fb\.com|reddit|redd\.it|nitter|xcancel|/@|\(@|/users/|at://|\{\{|\{%", re.I)
lines = []
for name in sorted(os.listdir(src)):
    if name.endswith(".txt"):
        lines += [l for l in open(os.path.join(src, name), encoding="utf-8") if not hint.search(l)]
text = "".join(lines)
article = (text * (20000 // max(1, len(text)) + 1))[:20000]
n = mb * 1000000 // len(article.encode()) + 1
for i in range(n):
    with open(os.path.join(dst, f"{i:06}.txt"), "w", encoding="utf-8") as f:
        f.write(article)
PY

run() {
  local name=$1 dir=$2 threads=$3
  local bytes start end secs
  bytes=$(du -sb "$dir" | cut -f1)
  start=$(date +%s.%N)
  "$bin" scan --json -q -j "$threads" "$dir" > /dev/null
  end=$(date +%s.%N)
  awk -v n="$name" -v t="$threads" -v b="$bytes" -v s="$start" -v e="$end" \
    'BEGIN { secs = e - s; printf "%-10s %4s thread(s) %8.1f MB in %6.2f s = %8.1f MB/s\n", n, t, b / 1e6, secs, b / 1e6 / secs }'
}
cores=$(nproc)
for t in 1 "$cores"; do
  run corpus "$work/corpus" "$t"
  run embed-free "$work/free" "$t"
done
