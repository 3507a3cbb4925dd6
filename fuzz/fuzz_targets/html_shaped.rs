//! The `detect_html_shaped` target's body, apart from its `fuzz_target!` so a
//! normal test (`tests/fuzz_regressions.rs`) replays `fuzz/regressions/`
//! through the same code. The input language is described in
//! `detect_html_shaped.rs`.

use embarc::Kind;

const FRAGMENTS: &[&[u8]] = &[
    // Twitter blockquote embed and its parts.
    b"<blockquote class=\"twitter-tweet\">",
    b"<blockquote class=\"twitter-tweet\" data-lang=\"en\"><p lang=\"en\" dir=\"ltr\">",
    b"<blockquote class=\"twitter-video\">",
    b"</blockquote>",
    b"<a href=\"https://twitter.com/u/status/",
    b"<a href=\"https://x.com/",
    b"/status/",
    b"/statuses/",
    b"?ref_src=twsrc%5Etfw\">",
    b"\">",
    b"</a>",
    b"&mdash; ",
    b"&#8212; ",
    "\u{2014} ".as_bytes(),
    b" (@",
    b")",
    b"pic.twitter.com/",
    b"https://t.co/",
    b"pic.x.com/",
    b" June 1, 2020",
    b"<script async src=\"https://platform.twitter.com/widgets.js\" charset=\"utf-8\"></script>",
    // Comments, raw text elements, odd markup.
    b"<!--",
    b"-->",
    b"--!>",
    b"<!-->",
    b"<script>",
    b"</script>",
    b"<style>",
    b"</style>",
    b"<textarea>",
    b"</textarea>",
    b"<title>",
    b"<xmp>",
    b"<noembed>",
    b"<![CDATA[",
    b"]]>",
    b"<!DOCTYPE html>",
    b"<p>",
    b"</p>",
    b"<br>",
    b"<div>",
    b"</div>",
    b"<",
    b"</",
    b">",
    b"/>",
    b"\"",
    b"'",
    b"=",
    b" ",
    b"\n",
    b"\n\n",
    b"&amp;",
    b"&",
    b"&lt;",
    b"&#x",
    b";",
    b"@",
    b"/",
    // Other Twitter forms.
    b"<iframe src=\"https://platform.twitter.com/embed/Tweet.html?dnt=true&amp;id=",
    b"<iframe id=\"twitter-widget-0\" data-tweet-id=\"",
    b"</iframe>",
    b"<twitterwidget class=\"twitter-tweet twitter-tweet-rendered\" data-tweet-id=\"",
    b"</twitterwidget>",
    b"<div class=\"twitter-tweet twitter-tweet-rendered\" data-tweet-id=\"",
    b"<amp-twitter width=\"375\" height=\"472\" data-tweetid=\"",
    b"</amp-twitter>",
    b"<blockquote placeholder class=\"twitter-tweet\">",
    b"<!-- wp:embed {\"url\":\"https://twitter.com/",
    b"\",\"type\":\"rich\",\"providerNameSlug\":\"twitter\"} -->",
    b"<!-- /wp:embed -->",
    b"<figure class=\"wp-block-embed is-type-rich is-provider-twitter wp-block-embed-twitter\"><div class=\"wp-block-embed__wrapper\">\n",
    b"</div></figure>",
    b"https://twitter.com/intent/retweet?tweet_id=",
    b"https://nitter.net/",
    b"https://mobile.twitter.com/i/web/status/",
    // Other providers.
    b"<iframe src=\"https://www.youtube-nocookie.com/embed/",
    b"https://youtu.be/",
    b"https://www.youtube.com/watch?v=",
    b"<blockquote class=\"instagram-media\" data-instgrm-permalink=\"https://www.instagram.com/p/",
    b"<blockquote class=\"tiktok-embed\" cite=\"https://www.tiktok.com/@",
    b"/video/",
    b"<blockquote class=\"bluesky-embed\" data-bluesky-uri=\"at://did:plc:",
    b"/app.bsky.feed.post/",
    b"https://bsky.app/profile/",
    b"/post/",
    b"<blockquote class=\"mastodon-embed\" data-embed-url=\"https://mastodon.social/@",
    b"/embed\">",
    b"<blockquote class=\"text-post-media\" data-text-post-permalink=\"https://www.threads.net/@",
    b"<div class=\"fb-post\" data-href=\"https://www.facebook.com/",
    b"/posts/",
    b"<blockquote class=\"reddit-embed-bq\"><a href=\"https://www.reddit.com/r/rust/comments/",
    // Markdown and static-site syntaxes.
    b"{{< tweet user=\"",
    b"\" id=\"",
    b" >}}",
    b"{% twitter https://twitter.com/",
    b" %}",
    b"<Tweet id=\"",
    b"[post](",
    b"](<",
    b"```\n",
    b"`",
    b"~~~\n",
    b"> ",
    // Encodings.
    b"<meta charset=\"shift_jis\">",
    b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=iso-2022-jp\">",
    b"<meta charset=\"windows-1252\">",
    b"\xEF\xBB\xBF",
    b"\xFF\xFE",
    b"\x1B$B",
    b"\x82\xa0",
    "\u{a0}".as_bytes(),
    "é".as_bytes(),
    "यह".as_bytes(),
    b"\xC3",
    b"\xFF",
];

/// Generated articles stop growing past this size (`0xF3` could otherwise
/// grow them exponentially).
const MAX_OUT: usize = 256 * 1024;

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_";

fn build(ops: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(ops.len() * 16);
    let mut last: (usize, usize) = (0, 0);
    let mut i = 0;
    let next = |i: &mut usize| {
        let b = ops.get(*i).copied().unwrap_or(0);
        *i += 1;
        b
    };
    while i < ops.len() && out.len() < MAX_OUT {
        let op = next(&mut i);
        let start = out.len();
        match op as usize {
            n if n < FRAGMENTS.len() => out.extend_from_slice(FRAGMENTS[n]),
            0xF0 => {
                let count = 1 + next(&mut i) as usize % 20;
                for _ in 0..count {
                    out.push(b'0' + next(&mut i) % 10);
                }
            }
            0xF1 => {
                let count = 1 + next(&mut i) as usize % 16;
                for _ in 0..count {
                    out.push(ALNUM[next(&mut i) as usize % ALNUM.len()]);
                }
            }
            0xF2 => {
                let count = next(&mut i) as usize % 32;
                for _ in 0..count {
                    out.push(next(&mut i));
                }
            }
            0xF3 => {
                let times = 2 + next(&mut i) as usize % 8;
                let piece = out[last.0..last.1].to_vec();
                for _ in 0..times {
                    if out.len() + piece.len() > MAX_OUT {
                        break;
                    }
                    out.extend_from_slice(&piece);
                }
            }
            _ => out.push(op),
        }
        last = (start, out.len());
    }
    out
}

/// The target's body: byte 0 picks the kind, the rest is the program
/// [`build`] runs; then the invariants of [`crate::common::detect_and_check`].
pub fn run(data: &[u8]) {
    let Some((&selector, ops)) = data.split_first() else {
        return;
    };
    let kind = match selector % 4 {
        0 | 3 => Kind::Html,
        1 => Kind::Markdown,
        _ => Kind::Text,
    };
    let input = build(ops);
    crate::common::detect_and_check(&input, kind);
}
