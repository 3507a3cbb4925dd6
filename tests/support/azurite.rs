//! A real Azure Blob Storage emulator for tests: Azurite's blob service
//! (npm `azurite`, `azurite-blob`) started as a child process on a free
//! 127.0.0.1 port, in memory, with one uniquely named container, killed when
//! the handle drops. embarc reaches it the way object_store documents for
//! Azurite (`AZURE_STORAGE_USE_EMULATOR`, `AZURITE_BLOB_STORAGE_URL`, the
//! emulator's well-known account and key). Tests poke at the container with
//! raw path-style REST requests (`/devstoreaccount1/CONTAINER/KEY`) signed
//! here with Shared Key, as any other client would. Blocking std I/O only:
//! call it from `block_in_place` in async tests.
//!
//! Without `azurite-blob` on PATH the harness fails (it never skips): run
//! `npm install azurite` and put `node_modules/.bin` on PATH (scripts/test
//! does both).

use super::s3::{Response, encode};
use sha2::{Digest as _, Sha256};
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long Azurite may take to start and to answer one request.
const DEADLINE: Duration = Duration::from_secs(60);
/// The emulator's well-known account and key (public, in Azure's docs).
const ACCOUNT: &str = "devstoreaccount1";
const KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// A running Azurite blob service with one container.
pub struct Azurite {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The container created for this test.
    pub container: String,
    addr: String,
    child: Child,
    log: Arc<Mutex<Vec<String>>>,
}

/// Starts Azurite's blob service, waits until it listens and creates a
/// container.
pub fn start() -> Azurite {
    let dir = std::env::temp_dir();
    let mut child = Command::new("azurite-blob")
        .args([
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            "0",
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--silent",
        ])
        .current_dir(dir)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start `azurite-blob` ({e}): the az:// tests need the Azure emulator; \
                 run `npm install azurite` and put node_modules/.bin on PATH (scripts/test does)"
            )
        });
    let log = Arc::new(Mutex::new(Vec::new()));
    for pipe in [
        child
            .stdout
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
        child
            .stderr
            .take()
            .map(|p| Box::new(p) as Box<dyn Read + Send>),
    ]
    .into_iter()
    .flatten()
    {
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(pipe).lines() {
                let Ok(line) = line else { return };
                if let Ok(mut l) = sink.lock() {
                    l.push(line);
                }
            }
        });
    }
    let started = Instant::now();
    let port = loop {
        let found = log.lock().ok().and_then(|l| {
            l.iter().find_map(|line| {
                let rest = line.split("listens on http://127.0.0.1:").nth(1)?;
                rest.trim().trim_end_matches('/').parse::<u16>().ok()
            })
        });
        if let Some(port) = found {
            break port;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "azurite-blob exited ({status}) before serving:\n{}",
                log.lock().map(|l| l.join("\n")).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < DEADLINE,
            "azurite-blob did not say which port it serves within {DEADLINE:?}:\n{}",
            log.lock().map(|l| l.join("\n")).unwrap_or_default()
        );
        std::thread::park_timeout(Duration::from_millis(20));
    };
    let addr = format!("127.0.0.1:{port}");
    let az = Azurite {
        endpoint: format!("http://{addr}"),
        container: format!(
            "embarc-test-{}-{}",
            std::process::id(),
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.subsec_nanos())
                .unwrap_or(0)
        ),
        addr,
        child,
        log,
    };
    let r = az.request(
        "PUT",
        &format!("/{}", az.container),
        &[("restype", "container")],
        &[],
        &[],
    );
    assert_eq!(r.status, 201, "create container: {}", r.text());
    az
}

impl Azurite {
    /// The variables embarc (object_store) reads to reach this emulator.
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AZURE_STORAGE_USE_EMULATOR", "true"),
            ("AZURITE_BLOB_STORAGE_URL", self.endpoint.as_str()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// `az://CONTAINER/PREFIX`.
    pub fn url(&self, prefix: &str) -> String {
        format!("az://{}/{prefix}", self.container)
    }

    /// Every key under `prefix` with its size, following `NextMarker`.
    pub fn list_sized(&self, prefix: &str) -> Vec<(String, u64)> {
        let mut out = Vec::new();
        let mut marker = String::new();
        loop {
            let mut query = vec![
                ("restype", "container"),
                ("comp", "list"),
                ("prefix", prefix),
            ];
            if !marker.is_empty() {
                query.push(("marker", marker.as_str()));
            }
            let r = self.request("GET", &format!("/{}", self.container), &query, &[], &[]);
            assert_eq!(r.status, 200, "list {prefix}: {}", r.text());
            let xml = r.text();
            for blob in elements(&xml, "Blob") {
                let name = elements(&blob, "Name").pop().unwrap_or_default();
                let size = elements(&blob, "Content-Length")
                    .pop()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                out.push((name, size));
            }
            marker = elements(&xml, "NextMarker").pop().unwrap_or_default();
            if marker.is_empty() {
                return out;
            }
        }
    }

    /// A key's bytes, `None` when it does not exist.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let r = self.request("GET", &self.key_path(key), &[], &[], &[]);
        match r.status {
            200 => Some(r.body),
            404 => None,
            s => panic!("GET {key}: {s} {}", r.text()),
        }
    }

    /// Writes `bytes` at `key` (a block blob), overwriting whatever is there.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let r = self.request(
            "PUT",
            &self.key_path(key),
            &[],
            &[("x-ms-blob-type", "BlockBlob")],
            bytes,
        );
        assert_eq!(r.status, 201, "PUT {key}: {}", r.text());
    }

    fn key_path(&self, key: &str) -> String {
        format!("/{}/{}", self.container, encode(key, true))
    }

    /// One request signed with the emulator's Shared Key; `path` is below
    /// the account (`/CONTAINER/KEY`, encoded), `query` unencoded pairs.
    fn request(
        &self,
        method: &str,
        path: &str,
        query: &[(&str, &str)],
        ms_headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        let date = httpdate(std::time::SystemTime::now());
        let mut ms: Vec<(String, String)> = ms_headers
            .iter()
            .map(|(k, v)| (k.to_ascii_lowercase(), v.to_string()))
            .collect();
        ms.push(("x-ms-date".into(), date));
        ms.push(("x-ms-version".into(), "2021-08-06".into()));
        ms.sort();
        let content_type = if body.is_empty() {
            ""
        } else {
            "application/octet-stream"
        };
        let length = if body.is_empty() {
            String::new()
        } else {
            body.len().to_string()
        };
        let mut to_sign = format!("{method}\n\n\n{length}\n\n{content_type}\n\n\n\n\n\n\n");
        for (k, v) in &ms {
            to_sign.push_str(&format!("{k}:{v}\n"));
        }
        to_sign.push_str(&format!("/{ACCOUNT}/{ACCOUNT}{path}"));
        let mut sorted: Vec<&(&str, &str)> = query.iter().collect();
        sorted.sort();
        for (k, v) in &sorted {
            to_sign.push_str(&format!("\n{k}:{v}"));
        }
        let key = base64_decode(KEY);
        let signature = base64_encode(&hmac_sha256(&key, to_sign.as_bytes()));
        let query: Vec<String> = query
            .iter()
            .map(|(k, v)| format!("{k}={}", encode(v, false)))
            .collect();
        let target = if query.is_empty() {
            format!("/{ACCOUNT}{path}")
        } else {
            format!("/{ACCOUNT}{path}?{}", query.join("&"))
        };
        let mut head = format!(
            "{method} {target} HTTP/1.1\r\nhost: {}\r\nauthorization: SharedKey {ACCOUNT}:{signature}\r\n\
             content-length: {}\r\nconnection: close\r\n",
            self.addr,
            body.len()
        );
        if !content_type.is_empty() {
            head.push_str(&format!("content-type: {content_type}\r\n"));
        }
        for (k, v) in &ms {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        let send = || -> std::io::Result<Response> {
            let mut stream = TcpStream::connect(&self.addr)?;
            stream.set_read_timeout(Some(DEADLINE))?;
            stream.write_all(head.as_bytes())?;
            stream.write_all(body)?;
            let mut raw = Vec::new();
            stream.read_to_end(&mut raw)?;
            super::s3::parse_response(&raw, method == "HEAD")
        };
        send().unwrap_or_else(|e| panic!("{method} {}{target}: {e}", self.endpoint))
    }

    /// What Azurite printed, for messages.
    pub fn log(&self) -> String {
        self.log.lock().map(|l| l.join("\n")).unwrap_or_default()
    }
}

impl Drop for Azurite {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The text of every `<tag>…</tag>` in `xml`, in order.
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| {
            rest.split_once(close.as_str()).map(|(v, _)| {
                v.replace("&lt;", "<")
                    .replace("&gt;", ">")
                    .replace("&quot;", "\"")
                    .replace("&apos;", "'")
                    .replace("&amp;", "&")
            })
        })
        .collect()
}

/// HMAC-SHA256 (RFC 2104), as Shared Key signs.
fn hmac_sha256(key: &[u8], message: &[u8]) -> Vec<u8> {
    let mut k = [0u8; 64];
    if key.len() > 64 {
        k[..32].copy_from_slice(&Sha256::digest(key));
    } else {
        k[..key.len()].copy_from_slice(key);
    }
    let pad = |b: u8| k.iter().map(|x| x ^ b).collect::<Vec<u8>>();
    let inner = Sha256::new()
        .chain_update(pad(0x36))
        .chain_update(message)
        .finalize();
    Sha256::new()
        .chain_update(pad(0x5c))
        .chain_update(inner)
        .finalize()
        .to_vec()
}

const B64: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn base64_encode(bytes: &[u8]) -> String {
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(B64[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn base64_decode(text: &str) -> Vec<u8> {
    let mut out = Vec::new();
    let (mut n, mut bits) = (0u32, 0);
    for c in text.bytes().filter(|c| *c != b'=') {
        let v = B64.iter().position(|b| *b == c).expect("base64") as u32;
        n = n << 6 | v;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push((n >> bits) as u8);
        }
    }
    out
}

/// An RFC 1123 date (`Tue, 01 Dec 2026 19:00:00 GMT`).
fn httpdate(t: std::time::SystemTime) -> String {
    let secs = t
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0) as i64;
    let at = time::OffsetDateTime::from_unix_timestamp(secs).expect("time");
    let days = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"];
    let months = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    format!(
        "{}, {:02} {} {} {:02}:{:02}:{:02} GMT",
        days[at.weekday().number_days_from_monday() as usize],
        at.day(),
        months[at.month() as usize - 1],
        at.year(),
        at.hour(),
        at.minute(),
        at.second()
    )
}
