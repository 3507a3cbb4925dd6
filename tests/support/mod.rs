//! A tiny HTTP/1.1 server on 127.0.0.1 for tests: each request is answered by a
//! closure that writes raw bytes, so tests can send exactly what X sends,
//! including the broken things (resets, trickles, endless bodies). It counts
//! requests per path so tests can prove what was (not) fetched. Started with
//! [`Options`] it also gzips compressible answers when the request allows it,
//! sends some bodies chunked, and keeps a list of violations (requests the
//! real server would punish): a server dropped with violations fails the test.
#![allow(dead_code)]

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What a handler gets: the path with query, and the stream to answer on.
pub type Handler = Arc<dyn Fn(String, u32) -> Reply + Send + Sync>;

/// How to answer.
pub enum Reply {
    /// Write these bytes and close.
    Raw(Vec<u8>),
    /// Write the head and these chunks with pauses (ms) between, then close.
    Slow(Vec<u8>, Vec<(u64, Vec<u8>)>),
    /// Write the head, then bytes forever.
    Endless(Vec<u8>),
    /// Write these bytes, then reset the connection.
    Reset(Vec<u8>),
    /// Write the head, then this many bytes of filler, streamed.
    Sized(Vec<u8>, u64),
}

/// A response with status, headers and body.
pub fn response(status: u16, headers: &[(&str, &str)], body: &[u8]) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {status} X\r\ncontent-length: {}\r\nconnection: close\r\n",
        body.len()
    )
    .into_bytes();
    for (k, v) in headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// A running server.
pub struct Server {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    counts: Arc<Mutex<HashMap<String, u32>>>,
    arrivals: Arc<Mutex<Vec<(String, std::time::Instant)>>>,
    agents: Arc<Mutex<Vec<String>>>,
    violations: Violations,
}

/// Requests the real server would have punished, in words; shared with the
/// handler that notices them.
pub type Violations = Arc<Mutex<Vec<String>>>;

/// How the server dresses its `Reply::Raw` answers (the others are sent as
/// written).
#[derive(Clone, Copy)]
pub struct Options {
    /// Gzip a compressible body (JSON, text, HTML) when the request's
    /// Accept-Encoding allows gzip and the answer is not encoded already.
    pub gzip: bool,
    /// Which answers (by path) go out with `transfer-encoding: chunked`.
    pub chunked: fn(&str) -> bool,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            gzip: false,
            chunked: |_| false,
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let seen = self.take_violations();
        if !seen.is_empty() && !std::thread::panicking() {
            panic!(
                "the fake server saw {} request(s) the real one would punish:\n{}",
                seen.len(),
                seen.join("\n")
            );
        }
    }
}

impl Server {
    /// Requests seen for a path (query included).
    pub fn count(&self, path: &str) -> u32 {
        self.counts
            .lock()
            .map(|c| c.get(path).copied().unwrap_or(0))
            .unwrap_or(0)
    }

    /// When each request for a path arrived, in order.
    pub fn arrivals(&self, path: &str) -> Vec<std::time::Instant> {
        self.arrivals
            .lock()
            .map(|a| {
                a.iter()
                    .filter(|(p, _)| p == path)
                    .map(|(_, t)| *t)
                    .collect()
            })
            .unwrap_or_default()
    }

    /// When each request whose path (query included) passes `keep` arrived.
    pub fn arrivals_where(&self, keep: impl Fn(&str) -> bool) -> Vec<std::time::Instant> {
        self.arrivals
            .lock()
            .map(|a| a.iter().filter(|(p, _)| keep(p)).map(|(_, t)| *t).collect())
            .unwrap_or_default()
    }

    /// The User-Agent of every request seen, in arrival order.
    pub fn user_agents(&self) -> Vec<String> {
        self.agents.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// All requests seen.
    pub fn total(&self) -> u32 {
        self.counts.lock().map(|c| c.values().sum()).unwrap_or(0)
    }

    /// The violations seen so far, cleared (a test that provokes them on
    /// purpose takes them, so dropping the server does not fail it).
    pub fn take_violations(&self) -> Vec<String> {
        self.violations
            .lock()
            .map(|mut v| std::mem::take(&mut *v))
            .unwrap_or_default()
    }
}

/// Starts a server answering with `handler(path, nth request for that path)`.
pub async fn start(handler: Handler) -> Server {
    start_with(handler, Options::default(), Violations::default()).await
}

/// [`start`] with [`Options`], and the violations list its handler writes to.
pub async fn start_with(handler: Handler, options: Options, violations: Violations) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let counts = Arc::new(Mutex::new(HashMap::new()));
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let agents = Arc::new(Mutex::new(Vec::new()));
    let (c, a, g) = (counts.clone(), arrivals.clone(), agents.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let (counts, arrivals, agents) = (c.clone(), a.clone(), g.clone());
            tokio::spawn(async move {
                let _ = serve(stream, handler, options, counts, arrivals, agents).await;
            });
        }
    });
    Server {
        base,
        counts,
        arrivals,
        agents,
        violations,
    }
}

/// Rewrites a well-formed `Reply::Raw` answer (a head and exactly its
/// `content-length` of body) as [`Options`] say; anything else (a promised
/// length not sent, say) is left as it is, broken on purpose.
fn dress(raw: Vec<u8>, gzip: bool, chunked: bool) -> Vec<u8> {
    use std::io::Write;
    let Some(split) = raw.windows(4).position(|w| w == b"\r\n\r\n") else {
        return raw;
    };
    let (head, body) = (String::from_utf8_lossy(&raw[..split]), &raw[split + 4..]);
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default().to_string();
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    if get("content-length").and_then(|n| n.parse::<usize>().ok()) != Some(body.len()) {
        return raw;
    }
    let compressible = get("content-type").is_some_and(|t| {
        t.starts_with("application/json") || t.starts_with("text/") || t.contains("javascript")
    });
    let mut body = body.to_vec();
    let mut headers = headers.clone();
    if gzip && compressible && !body.is_empty() && get("content-encoding").is_none() {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        let _ = gz.write_all(&body);
        body = gz.finish().unwrap_or_default();
        headers.push(("content-encoding".into(), "gzip".into()));
        headers.push(("vary".into(), "accept-encoding".into()));
    }
    headers.retain(|(k, _)| k != "content-length");
    let mut out = format!("{status_line}\r\n").into_bytes();
    for (k, v) in &headers {
        out.extend_from_slice(format!("{k}: {v}\r\n").as_bytes());
    }
    if chunked {
        out.extend_from_slice(b"transfer-encoding: chunked\r\n\r\n");
        for piece in body.chunks(1000) {
            out.extend_from_slice(format!("{:x}\r\n", piece.len()).as_bytes());
            out.extend_from_slice(piece);
            out.extend_from_slice(b"\r\n");
        }
        out.extend_from_slice(b"0\r\n\r\n");
    } else {
        out.extend_from_slice(format!("content-length: {}\r\n\r\n", body.len()).as_bytes());
        out.extend_from_slice(&body);
    }
    out
}

async fn serve(
    mut stream: TcpStream,
    handler: Handler,
    options: Options,
    counts: Arc<Mutex<HashMap<String, u32>>>,
    arrivals: Arc<Mutex<Vec<(String, std::time::Instant)>>>,
    agents: Arc<Mutex<Vec<String>>>,
) -> std::io::Result<()> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
        let n = stream.read(&mut chunk).await?;
        if n == 0 {
            return Ok(());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let head = String::from_utf8_lossy(&buf);
    let path = head.split_whitespace().nth(1).unwrap_or("/").to_string();
    let accepts_gzip = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .any(|(k, v)| k.eq_ignore_ascii_case("accept-encoding") && v.contains("gzip"));
    if let Ok(mut a) = arrivals.lock() {
        a.push((path.clone(), std::time::Instant::now()));
    }
    if let Ok(mut a) = agents.lock() {
        a.push(
            head.lines()
                .filter_map(|l| l.split_once(':'))
                .find(|(k, _)| k.eq_ignore_ascii_case("user-agent"))
                .map(|(_, v)| v.trim().to_string())
                .unwrap_or_default(),
        );
    }
    let nth = {
        let mut c = counts.lock().map_err(|_| std::io::Error::other("lock"))?;
        let n = c.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    let chunked = (options.chunked)(&path);
    match handler(path, nth) {
        Reply::Raw(bytes) if options.gzip || chunked => {
            let bytes = dress(bytes, options.gzip && accepts_gzip, chunked);
            stream.write_all(&bytes).await?
        }
        Reply::Raw(bytes) => stream.write_all(&bytes).await?,
        Reply::Slow(head, chunks) => {
            stream.write_all(&head).await?;
            for (pause, bytes) in chunks {
                tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
                stream.write_all(&bytes).await?;
            }
        }
        Reply::Endless(head) => {
            stream.write_all(&head).await?;
            let block = vec![b'x'; 64 * 1024];
            loop {
                stream.write_all(&block).await?;
            }
        }
        Reply::Sized(head, mut left) => {
            stream.write_all(&head).await?;
            let block = vec![b'v'; 256 * 1024];
            while left > 0 {
                let n = left.min(block.len() as u64) as usize;
                stream.write_all(&block[..n]).await?;
                left -= n as u64;
            }
        }
        Reply::Reset(bytes) => {
            stream.write_all(&bytes).await?;
            // A zero linger makes the close an RST, as a dropped connection does.
            #[expect(deprecated, reason = "zero linger never blocks; it is the point here")]
            stream.set_linger(Some(std::time::Duration::ZERO))?;
            drop(stream);
            return Ok(());
        }
    }
    stream.shutdown().await?;
    Ok(())
}
pub mod azurite;
pub mod bucket;
pub mod fake_bluesky;
pub mod fake_mastodon;
pub mod fake_meta;
pub mod fake_reddit;
pub mod fake_video;
pub mod fake_wayback;
pub mod fake_x;
pub mod s3;

/// Copies the folder `from` (files and folders, recursively) to `to`.
pub fn copy_tree(from: &std::path::Path, to: &std::path::Path) {
    for entry in walkdir::WalkDir::new(from) {
        let entry = entry.expect("walk");
        let dest = to.join(entry.path().strip_prefix(from).expect("under"));
        if entry.file_type().is_dir() {
            std::fs::create_dir_all(&dest).expect("mkdir");
        } else {
            std::fs::copy(entry.path(), &dest).expect("copy");
        }
    }
}
