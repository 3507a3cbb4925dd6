//! A tiny HTTP/1.1 server on 127.0.0.1 for tests: each request is answered by a
//! closure that writes raw bytes, so tests can send exactly what X sends,
//! including the broken things (resets, trickles, endless bodies). It counts
//! requests per path so tests can prove what was (not) fetched.
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

    /// All requests seen.
    pub fn total(&self) -> u32 {
        self.counts.lock().map(|c| c.values().sum()).unwrap_or(0)
    }
}

/// Starts a server answering with `handler(path, nth request for that path)`.
pub async fn start(handler: Handler) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let base = format!("http://{}", listener.local_addr().expect("addr"));
    let counts = Arc::new(Mutex::new(HashMap::new()));
    let arrivals = Arc::new(Mutex::new(Vec::new()));
    let (c, a) = (counts.clone(), arrivals.clone());
    tokio::spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                return;
            };
            let handler = handler.clone();
            let (counts, arrivals) = (c.clone(), a.clone());
            tokio::spawn(async move {
                let _ = serve(stream, handler, counts, arrivals).await;
            });
        }
    });
    Server {
        base,
        counts,
        arrivals,
    }
}

async fn serve(
    mut stream: TcpStream,
    handler: Handler,
    counts: Arc<Mutex<HashMap<String, u32>>>,
    arrivals: Arc<Mutex<Vec<(String, std::time::Instant)>>>,
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
    if let Ok(mut a) = arrivals.lock() {
        a.push((path.clone(), std::time::Instant::now()));
    }
    let nth = {
        let mut c = counts.lock().map_err(|_| std::io::Error::other("lock"))?;
        let n = c.entry(path.clone()).or_insert(0);
        *n += 1;
        *n
    };
    match handler(path, nth) {
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
pub mod fake_x;
pub mod s3;
