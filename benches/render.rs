//! Render throughput: 10,000 archived posts (each with an avatar and two
//! photos) cited by one article as blockquotes; times detection, reading every
//! post's captures, the cards and the spliced page, then publishing the media.
//!
//! `cargo bench --bench render`; `EMBARC_BENCH_DIR` picks the folder (default
//! `/dev/shm/embarc-bench-render`, a tmpfs), `EMBARC_BENCH_POSTS` the count.
//! Target (issue 5): 10,000 posts in under 1 s.

use embarc::Kind;
use embarc::post::{Post, PostId};
use embarc::render::publish::{self, MediaMode};
use embarc::render::{PageLinks, Renderer};
use embarc::store::Archive;
use embarc::store::record::{CaptureOutcome, CaptureRecord, Media};
use std::path::PathBuf;
use std::time::Instant;

fn main() {
    let posts: u64 = std::env::var("EMBARC_BENCH_POSTS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let dir = std::env::var_os("EMBARC_BENCH_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/dev/shm/embarc-bench-render"));
    let _ = std::fs::remove_dir_all(&dir);
    let archive = Archive::open_or_create(dir.join("archive")).expect("archive");
    let started = Instant::now();
    let avatar = archive.put_bytes(&vec![1u8; 4096]).expect("avatar");
    let mut article =
        String::from("<!doctype html><html lang=\"en\"><head><title>bench</title></head><body>\n");
    for n in 0..posts {
        let id = format!("9{n:018}");
        let photos: Vec<_> = (0..2u8)
            .map(|k| {
                archive
                    .put_bytes(format!("photo {id} {k}").repeat(200).as_bytes())
                    .expect("photo")
            })
            .collect();
        let file = |url: String, digest: embarc::store::Digest| serde_json::json!({"url": url, "stored": {"digest": digest, "url": url, "bytes": 1, "mime": "image/jpeg"}});
        let avatar_url = "https://pbs.twimg.com/profile_images/1/a.jpg".to_string();
        let post: Post = serde_json::from_value(serde_json::json!({
            "url": format!("https://twitter.com/bench/status/{id}"),
            "text": format!("post {id} about #things"), "created_at": "2024-06-20T10:00:00Z", "lang": "en",
            "author": {"name": "Bench Author", "handle": "bench", "url": "https://x.com/bench",
                       "avatar": file(avatar_url.clone(), avatar), "verified": "blue"},
            "spans": [{"kind": "text", "text": format!("post {id} about ")},
                      {"kind": "tag", "text": "#things", "tag": "things", "href": "https://x.com/hashtag/things"},
                      {"kind": "link", "text": "example.com/a", "href": "https://example.com/a"}],
            "media": [
                {"kind": "photo", "file": file(format!("https://pbs.twimg.com/media/{id}a.jpg"), photos[0]), "alt": "a", "width": 1200, "height": 800},
                {"kind": "photo", "file": file(format!("https://pbs.twimg.com/media/{id}b.jpg"), photos[1]), "width": 1200, "height": 800}],
            "counts": {"likes": n, "replies": 0},
            "sources": {"author": "syndication", "text": "syndication"}
        }))
        .expect("post");
        let key = PostId::new(embarc::Provider::Twitter, id.clone());
        let mut r = CaptureRecord::new(
            key,
            format!("https://twitter.com/bench/status/{id}"),
            time::OffsetDateTime::now_utc(),
            CaptureOutcome::Ok,
        );
        r.source = Some("syndication".into());
        r.normalized = Some(post);
        let media = |role: &str, url: String, digest| Media {
            role: role.into(),
            url,
            digest,
            bytes: 1,
            content_type: Some("image/jpeg".into()),
        };
        r.media.push(media(
            "avatar",
            "https://pbs.twimg.com/profile_images/1/a.jpg".into(),
            avatar,
        ));
        r.media.push(media(
            "photo",
            format!("https://pbs.twimg.com/media/{id}a.jpg"),
            photos[0],
        ));
        r.media.push(media(
            "photo",
            format!("https://pbs.twimg.com/media/{id}b.jpg"),
            photos[1],
        ));
        archive.put_capture(&r).expect("capture");
        article.push_str(&format!(
            "<p>Paragraph {n}.</p>\n<blockquote class=\"twitter-tweet\"><p lang=\"en\">post {id}</p>&mdash; Bench (@bench) <a href=\"https://twitter.com/bench/status/{id}\">June 20, 2024</a></blockquote>\n<script async src=\"https://platform.twitter.com/widgets.js\"></script>\n"
        ));
    }
    article.push_str("</body></html>\n");
    eprintln!(
        "setup: {posts} posts archived in {:.1} s",
        started.elapsed().as_secs_f64()
    );

    {
        // Where the time goes: detection, then reading every post's captures.
        let archive = Archive::open(dir.join("archive")).expect("archive");
        let t = Instant::now();
        let embeds = embarc::detect(article.as_bytes(), Kind::Html);
        let detect_s = t.elapsed().as_secs_f64();
        let t = Instant::now();
        let mut records = 0;
        for e in &embeds {
            let key = PostId::new(embarc::Provider::Twitter, e.id.clone().unwrap_or_default());
            records += archive.captures(&key).expect("captures").len();
        }
        println!(
            "breakdown: detect {} embeds {detect_s:.3} s; read {records} full capture records (Archive::captures) on 1 core {:.3} s",
            embeds.len(),
            t.elapsed().as_secs_f64()
        );
    }
    for round in 1..=3 {
        let archive = Archive::open(dir.join("archive")).expect("archive");
        let t = Instant::now();
        let mut renderer = Renderer::new(&archive);
        let page = renderer.article(
            article.as_bytes(),
            Kind::Html,
            "bench",
            &PageLinks::default(),
        );
        let render_s = t.elapsed().as_secs_f64();
        let cards = page
            .embeds
            .iter()
            .filter(|e| e.result == embarc::render::EmbedResult::Card)
            .count();
        assert_eq!(cards as u64, posts, "every post rendered");
        let out = dir.join(format!("out{round}"));
        let t = Instant::now();
        let published = publish::media(
            &archive,
            renderer.used_media().copied(),
            &out.join("media"),
            MediaMode::Copy,
        )
        .expect("publish");
        let publish_s = t.elapsed().as_secs_f64();
        println!(
            "round {round}: rendered {cards} cards ({:.1} MB page from {:.1} MB article) in {render_s:.3} s ({:.0} posts/s); published {} media files in {publish_s:.3} s",
            page.html.len() as f64 / 1e6,
            article.len() as f64 / 1e6,
            cards as f64 / render_s,
            published.written,
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
