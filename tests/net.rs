//! The network rules against a local server: mirrors, redirects returned (not
//! followed), private addresses refused, retries that honour the server's
//! reset time, caps on endless and compressed bodies, timeouts on trickles,
//! and connections reset mid-body; what is never retried (DNS failures,
//! refused connections, TLS failures, 4xx), the deadline of a small answer
//! and the rate floor of a file, and error lines of one short line with their
//! kind. Request counts and elapsed times prove what was (not) fetched.

mod support;

use embarc::net::{Client, Health, Mirror, NetConfig, NetError, TimeLimit};
use embarc::store::Archive;
use std::sync::Arc;
use std::time::{Duration, Instant};
use support::{Reply, response};

fn config(base: &str) -> NetConfig {
    NetConfig {
        mirrors: vec![format!("twitter.com={base}").parse().expect("mirror")],
        read_timeout: Duration::from_millis(400),
        total_timeout: Duration::from_secs(10),
        max_body: 1 << 20,
        max_attempts: 3,
        max_wait: Duration::from_secs(5),
        ..embarc::capture::net_config()
    }
}

fn archive() -> (tempfile::TempDir, Archive) {
    let dir = tempfile::tempdir().expect("tempdir");
    let a = Archive::open_or_create(dir.path().join("a")).expect("archive");
    (dir, a)
}

async fn server() -> support::Server {
    support::start(Arc::new(|path: String, nth: u32| match path.as_str() {
        "/ok?x=1" => Reply::Raw(response(
            200,
            &[("content-type", "application/json")],
            br#"{"ok":true}"#,
        )),
        "/redirect" => Reply::Raw(response(
            301,
            &[("location", "https://twitter.com/u/status/1")],
            b"",
        )),
        "/limited" if nth == 1 => {
            let reset = time::OffsetDateTime::now_utc().unix_timestamp() + 1;
            Reply::Raw(response(
                429,
                &[("x-rate-limit-reset", &reset.to_string())],
                b"slow down",
            ))
        }
        "/limited" => Reply::Raw(response(200, &[], b"now ok")),
        "/burst" if nth <= 2 => Reply::Raw(response(503, &[("retry-after", "0")], b"busy")),
        "/burst" => Reply::Raw(response(200, &[], b"recovered")),
        "/always503" => Reply::Raw(response(503, &[("retry-after", "0")], b"down")),
        "/endless" => Reply::Endless(b"HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n".to_vec()),
        "/trickle" => Reply::Slow(
            b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\n".to_vec(),
            vec![(0, b"a".to_vec()), (2000, b"b".to_vec())],
        ),
        "/reset" if nth == 1 => {
            Reply::Reset(b"HTTP/1.1 200 OK\r\ncontent-length: 1000\r\n\r\npartial".to_vec())
        }
        "/reset" => Reply::Raw(response(200, &[], b"whole")),
        "/404" => Reply::Raw(response(404, &[], b"no such post")),
        "/403" => Reply::Raw(response(403, &[], b"protected")),
        "/408" | "/429" if nth == 1 => {
            let status = path[1..].parse().expect("status");
            Reply::Raw(response(status, &[("retry-after", "0")], b"again"))
        }
        "/408" | "/429" => Reply::Raw(response(200, &[], b"answered")),
        // 100 bytes in 2 s, 10 every 200 ms: never silent, but slow.
        p if p.starts_with("/drip") => Reply::Slow(
            b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\n".to_vec(),
            (0..10).map(|_| (200, b"0123456789".to_vec())).collect(),
        ),
        // 80,000 bytes at 40 KB/s (2,000 every 50 ms): 2 s.
        "/steady" => Reply::Slow(
            b"HTTP/1.1 200 OK\r\ncontent-length: 80000\r\nconnection: close\r\n\r\n".to_vec(),
            (0..40).map(|_| (50, vec![b's'; 2000])).collect(),
        ),
        // 10,000 bytes at 1 KB/s (100 every 100 ms): 10 s.
        "/crawl" => Reply::Slow(
            b"HTTP/1.1 200 OK\r\ncontent-length: 10000\r\nconnection: close\r\n\r\n".to_vec(),
            (0..100).map(|_| (100, vec![b'c'; 100])).collect(),
        ),
        "/bomb" => {
            use std::io::Write;
            let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
            gz.write_all(&vec![0u8; 50 << 20]).expect("gzip");
            let body = gz.finish().expect("gzip");
            Reply::Raw(response(
                200,
                &[
                    ("content-encoding", "gzip"),
                    ("content-type", "application/json"),
                ],
                &body,
            ))
        }
        _ => Reply::Raw(response(404, &[], b"not here")),
    }))
    .await
}

#[tokio::test(flavor = "multi_thread")]
async fn mirrored_requests_keep_the_original_url_and_store_the_body() {
    let s = server().await;
    let (_d, a) = archive();
    let c = Client::new(config(&s.base)).expect("client");
    let f = c
        .get("https://twitter.com/ok?x=1", &a, 1024)
        .await
        .expect("get");
    assert_eq!(f.status(), 200);
    assert_eq!(f.exchange.url, "https://twitter.com/ok?x=1");
    assert_eq!(f.exchange.via.as_deref(), Some(s.base.as_str()));
    assert_eq!(f.body.as_deref(), Some(&br#"{"ok":true}"#[..]));
    let digest = f.exchange.body.expect("digest");
    assert_eq!(
        a.read_object(&digest, 100).expect("stored"),
        br#"{"ok":true}"#
    );
    assert!(
        f.exchange
            .headers
            .iter()
            .any(|(k, v)| k == "content-type" && v == "application/json")
    );
    assert_eq!(s.count("/ok?x=1"), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn redirects_are_returned_not_followed() {
    let s = server().await;
    let (_d, a) = archive();
    let c = Client::new(config(&s.base)).expect("client");
    let f = c
        .get("https://twitter.com/redirect", &a, 1024)
        .await
        .expect("get");
    assert_eq!(f.status(), 301);
    assert_eq!(f.header("location"), Some("https://twitter.com/u/status/1"));
    assert_eq!(s.total(), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn rate_limits_wait_for_the_reset_then_retry() {
    let s = server().await;
    let (_d, a) = archive();
    let c = Client::new(config(&s.base)).expect("client");
    let f = c
        .get("https://twitter.com/limited", &a, 1024)
        .await
        .expect("get");
    assert_eq!(f.status(), 200);
    assert_eq!(f.attempts, 2);
    assert_eq!(s.count("/limited"), 2);
    let f = c
        .get("https://twitter.com/burst", &a, 1024)
        .await
        .expect("get");
    assert_eq!((f.status(), f.attempts), (200, 3));
    // Retries end: the last answer is returned for the caller to judge.
    let f = c
        .get("https://twitter.com/always503", &a, 1024)
        .await
        .expect("get");
    assert_eq!((f.status(), f.attempts), (503, 3));
    assert_eq!(s.count("/always503"), 3);
}

#[tokio::test(flavor = "multi_thread")]
async fn endless_bodies_stop_at_the_cap_and_leave_nothing() {
    let s = server().await;
    let (_d, a) = archive();
    let c = Client::new(config(&s.base)).expect("client");
    let err = c
        .get("https://twitter.com/endless", &a, 1024)
        .await
        .expect_err("capped");
    assert!(matches!(err, NetError::TooLarge { .. }), "{err}");
    assert_eq!(
        std::fs::read_dir(a.root().join("tmp"))
            .expect("tmp")
            .count(),
        0
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_trickle_times_out() {
    let s = server().await;
    let (_d, a) = archive();
    let mut cfg = config(&s.base);
    cfg.max_attempts = 1;
    let c = Client::new(cfg).expect("client");
    let err = c
        .get("https://twitter.com/trickle", &a, 1024)
        .await
        .expect_err("timeout");
    assert!(
        matches!(
            err,
            NetError::Timeout {
                limit: TimeLimit::Silence(_),
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), "timeout");
    assert_eq!(
        err.to_string(),
        "twitter.com: timed out: nothing received for 0.4 s"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_reset_mid_body_is_retried() {
    let s = server().await;
    let (_d, a) = archive();
    let c = Client::new(config(&s.base)).expect("client");
    let f = c
        .get("https://twitter.com/reset", &a, 1024)
        .await
        .expect("retried");
    assert_eq!(f.body.as_deref(), Some(&b"whole"[..]));
    assert_eq!(s.count("/reset"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_gzip_bomb_is_stored_as_received_and_decoded_with_a_cap() {
    let s = server().await;
    let (_d, a) = archive();
    let c = Client::new(config(&s.base)).expect("client");
    let f = c
        .get("https://twitter.com/bomb", &a, 1 << 20)
        .await
        .expect("get");
    assert!(
        f.exchange.body_bytes < 1 << 20,
        "stored compressed, as received"
    );
    assert_eq!(
        f.decoded_body(10 << 20),
        None,
        "50 MB of zeros do not fit a 10 MB cap"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn private_addresses_and_foreign_hosts_are_refused() {
    let (_d, a) = archive();
    let c = Client::new(embarc::capture::net_config()).expect("client");
    for url in [
        "http://169.254.169.254/latest/meta-data/",
        "https://example.com/",
        "ftp://twitter.com/x",
        "http://127.0.0.1:9/x",
    ] {
        let err = c.get(url, &a, 10).await.expect_err(url);
        assert!(matches!(err, NetError::Refused { .. }), "{url}: {err}");
    }
    // Any public host (article fetching): still no private address, by IP or by name.
    let open = Client::new(NetConfig {
        allowed_hosts: None,
        max_attempts: 1,
        ..NetConfig::default()
    })
    .expect("client");
    let err = open
        .get("http://169.254.169.254/", &a, 10)
        .await
        .expect_err("metadata");
    assert!(matches!(err, NetError::Refused { .. }), "{err}");
    let err = open
        .get("http://localhost:9/", &a, 10)
        .await
        .expect_err("localhost");
    assert_eq!(
        (err.kind(), err.to_string().as_str()),
        (
            "refused",
            "localhost:9: refused: resolves only to loopback, private or link-local addresses"
        )
    );
    assert!(!err.is_unreachable());
}

#[test]
fn mirror_flags_parse() {
    let m: Mirror = "T.co=http://127.0.0.1:8080/t.co/".parse().expect("mirror");
    assert_eq!(
        (m.host.as_str(), m.base.as_str()),
        ("t.co", "http://127.0.0.1:8080/t.co")
    );
    assert!("t.co".parse::<Mirror>().is_err());
    assert!("t.co=ftp://x".parse::<Mirror>().is_err());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_truncated_body_is_retried() {
    let s = support::start(Arc::new(|_path: String, nth: u32| {
        if nth == 1 {
            // Promises 100 bytes, sends 5, closes.
            Reply::Raw(
                b"HTTP/1.1 200 OK\r\ncontent-length: 100\r\nconnection: close\r\n\r\nshort"
                    .to_vec(),
            )
        } else {
            Reply::Raw(response(200, &[], b"complete"))
        }
    }))
    .await;
    let (_d, a) = archive();
    let c = Client::new(config(&s.base)).expect("client");
    let f = c
        .get("https://twitter.com/t", &a, 1024)
        .await
        .expect("retried");
    assert_eq!(f.body.as_deref(), Some(&b"complete"[..]));
    assert_eq!((f.attempts, s.count("/t")), (2, 2));
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_to_one_host_are_spaced_by_the_rate_limit() {
    let s = server().await;
    let (_d, a) = archive();
    let gap = Duration::from_millis(150);
    let c = Client::new(NetConfig {
        min_interval: gap,
        ..config(&s.base)
    })
    .expect("client");
    let gets = (0..4).map(|_| c.get("https://twitter.com/ok?x=1", &a, 1024));
    for r in futures_join(gets).await {
        assert_eq!(r.expect("get").status(), 200);
    }
    let at = s.arrivals("/ok?x=1");
    assert_eq!(at.len(), 4);
    for w in at.windows(2) {
        // The server sees each request at least the gap after the previous (less
        // a little for scheduling between send and arrival).
        assert!(
            w[1] - w[0] >= gap - Duration::from_millis(30),
            "{:?}",
            w[1] - w[0]
        );
    }
}

/// A client for any public host that retries three times, so a retry would show.
fn open_client() -> Client {
    Client::new(NetConfig {
        allowed_hosts: None,
        max_attempts: 3,
        ..NetConfig::default()
    })
    .expect("client")
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dns_failure_is_not_retried() {
    let (_d, a) = archive();
    let c = open_client();
    let url = format!("http://nothing.invalid/x?features={}", "a".repeat(1500));
    let clock = Instant::now();
    let err = c.get(&url, &a, 10).await.expect_err("no such name");
    // A retry would wait at least 0.5 s first.
    assert!(
        clock.elapsed() < Duration::from_millis(450),
        "{:?}",
        clock.elapsed()
    );
    assert!(matches!(err, NetError::Dns { .. }), "{err:?}");
    assert_eq!(err.kind(), "dns");
    assert!(err.is_unreachable() && !err.is_transient());
    assert_eq!(err.to_string(), "nothing.invalid: DNS lookup failed");
    assert_eq!(err.url(), Some(url.as_str()));
    assert_eq!(
        c.health(),
        Health {
            answered: 0,
            unreachable: 1,
            last_unreachable: Some("nothing.invalid: DNS lookup failed".into()),
        }
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_refused_connection_is_not_retried() {
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let (_d, a) = archive();
    let c = Client::new(config(&format!("http://127.0.0.1:{port}"))).expect("client");
    let clock = Instant::now();
    let err = c
        .get("https://twitter.com/i/status/1?features=x", &a, 10)
        .await
        .expect_err("nobody listens");
    assert!(
        clock.elapsed() < Duration::from_millis(450),
        "{:?}",
        clock.elapsed()
    );
    assert_eq!(
        (err.kind(), err.to_string().as_str()),
        ("connect", "twitter.com: connection refused")
    );
    assert!(err.is_unreachable());
    let h = c.health();
    assert_eq!((h.answered, h.unreachable), (0, 1));
    assert_eq!(
        h.last_unreachable.as_deref(),
        Some("twitter.com: connection refused")
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_tls_failure_is_not_retried() {
    // Answers every connection with plain HTTP, whatever it is sent.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let connections = Arc::new(std::sync::atomic::AtomicU32::new(0));
    let seen = connections.clone();
    tokio::spawn(async move {
        use tokio::io::AsyncWriteExt;
        while let Ok((mut stream, _)) = listener.accept().await {
            seen.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            let _ = stream
                .write_all(b"HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n")
                .await;
        }
    });
    let (_d, a) = archive();
    let c = Client::new(config(&format!("https://127.0.0.1:{port}"))).expect("client");
    let err = c
        .get("https://twitter.com/i/status/1", &a, 10)
        .await
        .expect_err("not TLS");
    assert_eq!(err.kind(), "tls", "{err:?}");
    let line = err.to_string();
    assert!(
        line.starts_with("twitter.com: TLS handshake failed: "),
        "{line}"
    );
    assert!(!line.contains('\n') && line.len() < 200, "{line}");
    assert!(!err.is_unreachable());
    assert_eq!(connections.load(std::sync::atomic::Ordering::SeqCst), 1);
}

#[tokio::test(flavor = "multi_thread")]
async fn client_errors_are_final_but_408_and_429_are_retried() {
    let s = server().await;
    let (_d, a) = archive();
    let c = Client::new(config(&s.base)).expect("client");
    for (path, status, attempts) in [
        ("/404", 404, 1),
        ("/403", 403, 1),
        ("/408", 200, 2),
        ("/429", 200, 2),
    ] {
        let f = c
            .get(&format!("https://twitter.com{path}"), &a, 1024)
            .await
            .expect(path);
        assert_eq!((f.status(), f.attempts), (status, attempts), "{path}");
        assert_eq!(s.count(path), attempts, "{path}");
    }
    assert_eq!(c.health().answered, 4, "one per request, not per attempt");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_small_answer_must_come_within_the_api_timeout() {
    let s = server().await;
    let (_d, a) = archive();
    let c = Client::new(NetConfig {
        api_timeout: Duration::from_secs(1),
        max_attempts: 1,
        ..config(&s.base)
    })
    .expect("client");
    let clock = Instant::now();
    let err = c
        .get_small("https://twitter.com/drip?features=x", &a, 1024)
        .await
        .expect_err("too slow for an API answer");
    let took = clock.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_secs(3)).contains(&took),
        "{took:?}"
    );
    assert!(
        matches!(
            err,
            NetError::Timeout {
                limit: TimeLimit::Total(_),
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.to_string(), "twitter.com: timed out after 1 s");
    assert!(err.is_transient() && !err.is_unreachable());
    // The same body as a file: slow, but never silent and within the floor.
    let f = c
        .get("https://twitter.com/drip?file", &a, 1024)
        .await
        .expect("a file may take its time");
    assert_eq!(f.exchange.body_bytes, 100);
    // A timed-out answer is tried again, within max_attempts.
    let c = Client::new(NetConfig {
        api_timeout: Duration::from_millis(300),
        max_attempts: 2,
        ..config(&s.base)
    })
    .expect("client");
    c.get_small("https://twitter.com/drip2", &a, 1024)
        .await
        .expect_err("too slow twice");
    assert_eq!(s.count("/drip2"), 2);
}

#[tokio::test(flavor = "multi_thread")]
async fn a_file_must_keep_above_the_rate_floor_not_within_a_deadline() {
    let s = server().await;
    let (_d, a) = archive();
    let c = Client::new(NetConfig {
        min_rate: 10_000,
        slow_window: Duration::from_secs(1),
        max_attempts: 1,
        ..config(&s.base)
    })
    .expect("client");
    // 40 KB/s for 2 s, twice the window: complete.
    let clock = Instant::now();
    let f = c
        .get("https://twitter.com/steady", &a, 0)
        .await
        .expect("steady");
    assert!(
        clock.elapsed() > Duration::from_millis(1500),
        "{:?}",
        clock.elapsed()
    );
    assert_eq!((f.status(), f.exchange.body_bytes), (200, 80_000));
    // 1 KB/s, never silent for the 0.4 s read timeout: fails after one window.
    let clock = Instant::now();
    let err = c
        .get("https://twitter.com/crawl", &a, 0)
        .await
        .expect_err("under the floor");
    let took = clock.elapsed();
    assert!(
        (Duration::from_millis(900)..Duration::from_millis(2500)).contains(&took),
        "{took:?}"
    );
    assert_eq!(
        (err.kind(), err.to_string().as_str()),
        ("timeout", "twitter.com: too slow (under 10 KB/s for 1 s)")
    );
    assert!(matches!(
        err,
        NetError::Timeout {
            limit: TimeLimit::TooSlow { .. },
            ..
        }
    ));
    assert_eq!(
        std::fs::read_dir(a.root().join("tmp"))
            .expect("tmp")
            .count(),
        0,
        "nothing left of the partial body"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn error_lines_are_one_short_line_naming_the_host() {
    let s = server().await;
    let c = Client::new(config(&s.base)).expect("client");
    let url = format!("https://twitter.com/404?features={}", "f".repeat(1500));
    let err = c.get_page(&url, 1024).await.expect_err("404");
    assert_eq!(
        (err.kind(), err.to_string().as_str()),
        ("http", "twitter.com: HTTP 404")
    );
    assert_eq!(embarc::error::full_message(&err), "twitter.com: HTTP 404");
    assert_eq!(err.url(), Some(url.as_str()));
    // An article the user named is named in full.
    let err = c
        .get_page("https://twitter.com/404", 1024)
        .await
        .expect_err("404");
    let wrapped = embarc::Error::Fetch(Box::new(err));
    assert_eq!(wrapped.full_message(), "https://twitter.com/404: HTTP 404");
    // A connection reset: a transport error, one line, no URL.
    let (_d, a) = archive();
    let c = Client::new(NetConfig {
        max_attempts: 1,
        ..config(&s.base)
    })
    .expect("client");
    let err = c
        .get("https://twitter.com/reset", &a, 1024)
        .await
        .expect_err("reset");
    let line = embarc::error::full_message(&err);
    assert_eq!(err.kind(), "transport", "{line}");
    assert!(err.is_transient());
    assert!(line.starts_with("twitter.com: connection "), "{line}");
    assert!(!line.contains("http") && !line.contains('\n'), "{line}");
}

async fn futures_join<F: std::future::Future>(fs: impl Iterator<Item = F>) -> Vec<F::Output> {
    let mut set = Vec::new();
    for f in fs {
        set.push(f);
    }
    let mut out = Vec::new();
    // Poll them together: each in its own task would need 'static futures.
    let mut pinned: Vec<std::pin::Pin<Box<F>>> = set.into_iter().map(Box::pin).collect();
    let mut done: Vec<Option<F::Output>> = pinned.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (i, f) in pinned.iter_mut().enumerate() {
            if done[i].is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => done[i] = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    out.extend(done.into_iter().flatten());
    out
}
