//! The real `embarc serve` binary as a child process on 127.0.0.1 (a free
//! port chosen by the system), its `--json` access log collected, stopped
//! with SIGTERM when dropped. Plus a one-request HTTP/1.1 client over a
//! plain socket, so tests see exactly what the server sends (status,
//! headers, body bytes) without a client library that would normalize it.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// A running `embarc serve`.
pub struct Serve {
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    /// `127.0.0.1:PORT`.
    pub addr: String,
    child: Option<Child>,
    /// Every stdout line after the first (the access log).
    lines: Arc<Mutex<Vec<String>>>,
    stderr: Arc<Mutex<String>>,
}

impl Serve {
    /// Starts `embarc --json --archive ARCHIVE serve --addr 127.0.0.1:0 ARGS…`
    /// and waits (up to 60 s) for its `listening` line.
    pub fn start(archive: &Path, args: &[&str]) -> Serve {
        let bin = assert_cmd::cargo::cargo_bin("embarc");
        let mut child = Command::new(bin)
            .arg("--json")
            .arg("--archive")
            .arg(archive)
            .args(["serve", "--addr", "127.0.0.1:0", "--refresh", "0"])
            .args(args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("embarc serve starts");
        let stdout = child.stdout.take().expect("stdout");
        let stderr = child.stderr.take().expect("stderr");
        let errs: Arc<Mutex<String>> = Arc::default();
        let e2 = errs.clone();
        std::thread::spawn(move || {
            let mut s = String::new();
            let mut r = BufReader::new(stderr);
            while r.read_line(&mut s).unwrap_or(0) > 0 {
                if let Ok(mut e) = e2.lock() {
                    e.push_str(&s);
                }
                s.clear();
            }
        });
        let lines: Arc<Mutex<Vec<String>>> = Arc::default();
        let l2 = lines.clone();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let mut r = BufReader::new(stdout);
            let mut first = String::new();
            if r.read_line(&mut first).unwrap_or(0) == 0 {
                let _ = tx.send(None);
                return;
            }
            let _ = tx.send(Some(first));
            let mut s = String::new();
            while r.read_line(&mut s).unwrap_or(0) > 0 {
                if let Ok(mut l) = l2.lock() {
                    l.push(s.trim_end().to_string());
                }
                s.clear();
            }
        });
        let first = rx
            .recv_timeout(Duration::from_secs(60))
            .ok()
            .flatten()
            .unwrap_or_else(|| {
                let _ = child.kill();
                panic!(
                    "embarc serve did not say where it listens: {}",
                    errs.lock().map(|e| e.clone()).unwrap_or_default()
                )
            });
        let v: serde_json::Value = serde_json::from_str(&first).expect("listening line is JSON");
        let base = v["listening"].as_str().expect("listening").to_string();
        let addr = v["addr"].as_str().expect("addr").to_string();
        Serve {
            base,
            addr,
            child: Some(child),
            lines,
            stderr: errs,
        }
    }

    /// The access-log lines so far, parsed.
    pub fn log(&self) -> Vec<serde_json::Value> {
        self.lines
            .lock()
            .map(|l| {
                l.iter()
                    .filter_map(|s| serde_json::from_str(s).ok())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// What it printed on stderr so far.
    pub fn stderr(&self) -> String {
        self.stderr.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Sends `signal` and waits (up to 20 s) for the exit status.
    pub fn stop_with(&mut self, signal: i32) -> Option<i32> {
        let mut child = self.child.take()?;
        unsafe_kill(child.id(), signal);
        let deadline = Instant::now() + Duration::from_secs(20);
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                return status.code();
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                panic!("embarc serve did not stop within 20 s of signal {signal}");
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends SIGHUP (read the archive again).
    pub fn hangup(&self) {
        if let Some(c) = &self.child {
            unsafe_kill(c.id(), 1);
        }
    }
}

fn unsafe_kill(pid: u32, signal: i32) {
    let _ = Command::new("kill")
        .arg(format!("-{signal}"))
        .arg(pid.to_string())
        .status();
}

impl Drop for Serve {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// One HTTP answer as sent.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The status code.
    pub status: u16,
    /// Headers, names lowercase, in order.
    pub headers: Vec<(String, String)>,
    /// The body bytes.
    pub body: Vec<u8>,
}

impl Answer {
    /// The first header of that name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body as text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Sends `METHOD TARGET HTTP/1.1` with `headers` to `addr` as written (no
/// normalizing of the target: `..` and `%2e` reach the server) and reads the
/// answer to the end (`Connection: close`).
pub fn request(addr: &str, method: &str, target: &str, headers: &[(&str, &str)]) -> Answer {
    let mut s = std::net::TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30)))
        .expect("timeout");
    let mut req = format!("{method} {target} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("\r\n");
    s.write_all(req.as_bytes()).expect("send");
    let mut raw = Vec::new();
    let _ = s.read_to_end(&mut raw);
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("a complete head");
    let head = String::from_utf8_lossy(&raw[..end]).into_owned();
    let mut lines = head.split("\r\n");
    let status: u16 = lines
        .next()
        .and_then(|l| l.split(' ').nth(1))
        .and_then(|c| c.parse().ok())
        .expect("status line");
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let mut body = raw[end + 4..].to_vec();
    if headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.contains("chunked"))
    {
        body = dechunk(&body);
    }
    Answer {
        status,
        headers,
        body,
    }
}

fn dechunk(mut b: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = b.windows(2).position(|w| w == b"\r\n") {
        let size = usize::from_str_radix(
            String::from_utf8_lossy(&b[..eol])
                .split(';')
                .next()
                .unwrap_or("")
                .trim(),
            16,
        )
        .unwrap_or(0);
        if size == 0 || b.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&b[eol + 2..eol + 2 + size]);
        b = &b[(eol + 4 + size).min(b.len())..];
    }
    out
}

/// `GET` with no extra header.
pub fn get(addr: &str, target: &str) -> Answer {
    request(addr, "GET", target, &[])
}
