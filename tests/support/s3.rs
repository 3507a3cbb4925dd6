//! A real S3-compatible server for tests: `moto_server` (PyPI `moto[server]`)
//! started as a child process on a free 127.0.0.1 port, with one uniquely
//! named bucket, killed when the handle drops. Tests talk to it the way a user
//! pokes at a bucket: raw path-style HTTP (`http://127.0.0.1:PORT/BUCKET/KEY`)
//! to list, read and overwrite keys behind embarc's back, and its request log
//! to see what embarc asked for. Blocking std I/O only: call it from
//! `block_in_place` in async tests.
//!
//! [`start_signed`] starts one that checks every request's SigV4 signature
//! (through tests/support/moto_signed.py, which fixes moto's canonical query
//! string), for the tests that wrong credentials fail.
//!
//! Without `moto_server` on PATH (and moto importable by `python3`) the
//! harness fails (it never skips): run `pip install 'moto[server]'`.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long moto may take to start and to answer one request.
const DEADLINE: Duration = Duration::from_secs(60);

/// moto treats a request without `Authorization` as anonymous: it then refuses
/// to read or overwrite objects (403). It does not check signatures unless
/// asked to ([`start_signed`]), so any well-formed SigV4 header makes a
/// request the bucket owner's.
const AUTHORIZATION: &str = "AWS4-HMAC-SHA256 Credential=test/20240101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=0";

/// A running moto_server with one bucket.
pub struct S3 {
    /// `http://127.0.0.1:PORT`.
    pub endpoint: String,
    /// The bucket created for this test, unique per process and call.
    pub bucket: String,
    addr: String,
    child: Child,
    /// Lines moto printed (werkzeug logs one line per request), in order.
    log: Arc<Mutex<Vec<String>>>,
    marks: AtomicU64,
    /// The access key id and secret embarc is given ([`S3::env`]): `test`
    /// for a server that checks no signature, an IAM user's own with
    /// [`start_signed`].
    pub key_id: String,
    /// See `key_id`.
    pub secret: String,
}

/// An HTTP answer.
#[derive(Debug)]
pub struct Response {
    /// The status code.
    pub status: u16,
    /// Header names lower-cased, in order.
    pub headers: Vec<(String, String)>,
    /// The body, de-chunked.
    pub body: Vec<u8>,
}

impl Response {
    /// The body as text, for messages.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// Starts moto_server, waits until it answers and creates a bucket.
pub fn start() -> S3 {
    launch(None)
}

/// Requests moto serves before it checks signatures, in [`start_signed`]: the
/// probe that it answers, the bucket, then the IAM user, its key and policy.
const SETUP_REQUESTS: u32 = 5;

/// Starts a moto_server that checks every request's SigV4 signature and the
/// signer's IAM policy (moto's `INITIAL_NO_AUTH_ACTION_COUNT`): its first
/// requests make the bucket and an IAM user `embarc` allowed `s3:*`, whose
/// access key is then `key_id`/`secret` (and [`S3::env`]'s); from then on
/// an unsigned or badly signed request is refused (403), which is checked
/// before this returns. The raw helpers ([`S3::get`], [`S3::put`]…) send no
/// real signature, so they are refused too: only embarc talks to it.
pub fn start_signed() -> S3 {
    let mut s3 = launch(Some(SETUP_REQUESTS));
    let iam = |params: &str| -> String {
        let r = s3.request_as(
            "POST",
            "/",
            &auth_header("test", "iam"),
            "application/x-www-form-urlencoded",
            &[],
            format!("{params}&Version=2010-05-08").as_bytes(),
        );
        assert_eq!(r.status, 200, "IAM {params}: {}", r.text());
        r.text()
    };
    iam("Action=CreateUser&UserName=embarc");
    let policy = encode(
        r#"{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"s3:*","Resource":"*"}]}"#,
        false,
    );
    let key = iam("Action=CreateAccessKey&UserName=embarc");
    iam(&format!(
        "Action=PutUserPolicy&UserName=embarc&PolicyName=s3&PolicyDocument={policy}"
    ));
    s3.key_id = elements(&key, "AccessKeyId").pop().unwrap_or_default();
    s3.secret = elements(&key, "SecretAccessKey").pop().unwrap_or_default();
    assert!(
        !s3.key_id.is_empty() && !s3.secret.is_empty(),
        "no access key in {key}"
    );
    // The free requests are spent: a request without a real signature is refused.
    let r = s3.request("GET", &format!("/{}?list-type=2", s3.bucket), &[], &[]);
    assert_eq!(
        r.status,
        403,
        "moto still serves unsigned requests after {SETUP_REQUESTS}: {}",
        r.text()
    );
    s3
}

/// A SigV4 `Authorization` header that moto reads for the service (it routes
/// by the credential's scope) but that signs nothing.
fn auth_header(key_id: &str, service: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256 Credential={key_id}/20240101/us-east-1/{service}/aws4_request, SignedHeaders=host, Signature=0"
    )
}

/// Starts moto_server (checking signatures after `free` requests when given).
fn launch(free: Option<u32>) -> S3 {
    let mut server = match free {
        None => Command::new("moto_server"),
        Some(n) => {
            // moto's own server, with its canonical query string fixed
            // (see the script), under the Python that has moto.
            let mut c = Command::new("python3");
            c.arg(concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/tests/support/moto_signed.py"
            ))
            .env("INITIAL_NO_AUTH_ACTION_COUNT", n.to_string());
            c
        }
    };
    let mut child = server
        .args(["-H", "127.0.0.1", "-p", "0"])
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| {
            panic!(
                "cannot start `moto_server` ({e}): the S3 tests need a local S3-compatible \
                 server; run `pip install 'moto[server]'` and put its scripts on PATH"
            )
        });
    // Drain stderr for good (moto logs every request there; a full pipe would
    // stall it) and keep the lines.
    let log = Arc::new(Mutex::new(Vec::new()));
    let stderr = child.stderr.take().expect("piped stderr");
    let sink = log.clone();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines() {
            let Ok(line) = line else { return };
            if let Ok(mut l) = sink.lock() {
                l.push(without_colours(&line));
            }
        }
    });
    // Port 0: the kernel picks a free port, werkzeug prints it.
    let started = Instant::now();
    let port = loop {
        let found = log.lock().ok().and_then(|l| {
            l.iter().find_map(|line| {
                let rest = line.split("Running on http://127.0.0.1:").nth(1)?;
                rest.trim().trim_end_matches('/').parse::<u16>().ok()
            })
        });
        if let Some(port) = found {
            break port;
        }
        if let Ok(Some(status)) = child.try_wait() {
            panic!(
                "moto_server exited ({status}) before serving:\n{}",
                log.lock().map(|l| l.join("\n")).unwrap_or_default()
            );
        }
        assert!(
            started.elapsed() < DEADLINE,
            "moto_server did not say which port it serves within {DEADLINE:?}:\n{}",
            log.lock().map(|l| l.join("\n")).unwrap_or_default()
        );
        std::thread::park_timeout(Duration::from_millis(20));
    };
    let addr = format!("127.0.0.1:{port}");
    let mut s3 = S3 {
        endpoint: format!("http://{addr}"),
        bucket: String::new(),
        addr,
        child,
        log,
        marks: AtomicU64::new(0),
        key_id: "test".into(),
        secret: "test".into(),
    };
    // It answers once the listener is up.
    loop {
        match s3.try_request("GET", "/", &[], &[]) {
            Ok(_) => break,
            Err(e) => assert!(
                started.elapsed() < DEADLINE,
                "moto_server on {} did not answer within {DEADLINE:?}: {e}",
                s3.endpoint
            ),
        }
        std::thread::park_timeout(Duration::from_millis(20));
    }
    s3.bucket = unique_bucket_name();
    let bucket = s3.bucket.clone();
    s3.create_bucket(&bucket);
    s3
}

/// `embarc-test-PID-N-NANOS`: lower case, under 63 characters, never reused.
fn unique_bucket_name() -> String {
    static N: AtomicU64 = AtomicU64::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!(
        "embarc-test-{}-{}-{nanos}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    )
}

/// Percent-encodes all but unreserved characters (and `/` when `keep_slash`).
pub fn encode(s: &str, keep_slash: bool) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) || (keep_slash && b == b'/') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn xml_unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&apos;", "'")
        .replace("&amp;", "&")
}

/// The text of every `<tag>…</tag>` in `xml`, in order.
fn elements(xml: &str, tag: &str) -> Vec<String> {
    let (open, close) = (format!("<{tag}>"), format!("</{tag}>"));
    xml.split(open.as_str())
        .skip(1)
        .filter_map(|rest| {
            rest.split_once(close.as_str())
                .map(|(v, _)| xml_unescape(v))
        })
        .collect()
}

impl S3 {
    /// The variables embarc reads to reach this server (issue 7's contract).
    pub fn env(&self) -> Vec<(String, String)> {
        [
            ("AWS_ENDPOINT_URL", self.endpoint.as_str()),
            ("AWS_ACCESS_KEY_ID", self.key_id.as_str()),
            ("AWS_SECRET_ACCESS_KEY", self.secret.as_str()),
            ("AWS_REGION", "us-east-1"),
            ("AWS_ALLOW_HTTP", "true"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
    }

    /// Variables of the test's own environment that must not reach embarc
    /// (a developer's real AWS profile, token or endpoint; an archive or index
    /// chosen by `EMBARC_*`): remove them from every command.
    pub fn foreign_env() -> Vec<String> {
        std::env::vars_os()
            .filter_map(|(k, _)| k.into_string().ok())
            .filter(|k| k.starts_with("AWS_") || k == "EMBARC_ARCHIVE" || k == "EMBARC_INDEX")
            .collect()
    }

    /// `s3://BUCKET/PREFIX`.
    pub fn url(&self, prefix: &str) -> String {
        format!("s3://{}/{prefix}", self.bucket)
    }

    /// Creates another bucket (`PUT /NAME`).
    pub fn create_bucket(&self, name: &str) {
        let r = self.request("PUT", &format!("/{name}"), &[], &[]);
        assert_eq!(r.status, 200, "create bucket {name}: {}", r.text());
    }

    /// Every key under `prefix`, in the server's (lexicographic) order.
    pub fn list(&self, prefix: &str) -> Vec<String> {
        self.list_sized(prefix, None)
            .into_iter()
            .map(|(k, _)| k)
            .collect()
    }

    /// Every key under `prefix` with its size, `page` keys per request
    /// (default: the server's 1,000), following `NextContinuationToken`.
    pub fn list_sized(&self, prefix: &str, page: Option<u32>) -> Vec<(String, u64)> {
        let mut keys = Vec::new();
        let mut token: Option<String> = None;
        loop {
            let mut path = format!(
                "/{}?list-type=2&prefix={}",
                self.bucket,
                encode(prefix, false)
            );
            if let Some(n) = page {
                path.push_str(&format!("&max-keys={n}"));
            }
            if let Some(t) = &token {
                path.push_str(&format!("&continuation-token={}", encode(t, false)));
            }
            let r = self.request("GET", &path, &[], &[]);
            assert_eq!(r.status, 200, "list {prefix}: {}", r.text());
            let xml = r.text();
            for contents in elements(&xml, "Contents") {
                let key = elements(&contents, "Key").pop().unwrap_or_default();
                let size = elements(&contents, "Size")
                    .pop()
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0);
                keys.push((key, size));
            }
            token = elements(&xml, "NextContinuationToken").pop();
            let truncated = elements(&xml, "IsTruncated").pop().as_deref() == Some("true");
            if !truncated {
                return keys;
            }
            assert!(token.is_some(), "truncated listing without a token: {xml}");
        }
    }

    /// A key's bytes, `None` when it does not exist.
    pub fn get(&self, key: &str) -> Option<Vec<u8>> {
        let r = self.request("GET", &self.key_path(key), &[], &[]);
        match r.status {
            200 => Some(r.body),
            404 => None,
            s => panic!("GET {key}: {s} {}", r.text()),
        }
    }

    /// Writes `bytes` at `key`, overwriting whatever is there.
    pub fn put(&self, key: &str, bytes: &[u8]) {
        let r = self.request("PUT", &self.key_path(key), &[], bytes);
        assert_eq!(r.status, 200, "PUT {key}: {}", r.text());
    }

    /// `/BUCKET/KEY`, percent-encoded.
    pub fn key_path(&self, key: &str) -> String {
        format!("/{}/{}", self.bucket, encode(key, true))
    }

    /// Every request moto has logged so far, as `METHOD /path?query`.
    /// A marker request is sent and waited for first, so everything a command
    /// that has exited asked for is in the list.
    pub fn requests(&self) -> Vec<String> {
        let mark = format!(
            "/{}/.embarc-test-mark-{}",
            self.bucket,
            self.marks.fetch_add(1, Ordering::Relaxed)
        );
        let _ = self.request("HEAD", &mark, &[], &[]);
        let started = Instant::now();
        loop {
            let lines: Vec<String> = self.log.lock().map(|l| l.clone()).unwrap_or_default();
            let requests: Vec<String> = lines
                .iter()
                .filter_map(|line| {
                    let quoted = line.split('"').nth(1)?;
                    let mut words = quoted.split(' ');
                    Some(format!("{} {}", words.next()?, words.next()?))
                })
                .collect();
            if let Some(at) = requests.iter().position(|r| r == &format!("HEAD {mark}")) {
                return requests[..at]
                    .iter()
                    .filter(|r| !r.contains("/.embarc-test-mark-"))
                    .cloned()
                    .collect();
            }
            assert!(
                started.elapsed() < DEADLINE,
                "moto never logged {mark}:\n{}",
                lines.join("\n")
            );
            std::thread::park_timeout(Duration::from_millis(10));
        }
    }

    /// One request (path-style, as the bucket owner); panics on I/O errors.
    pub fn request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.try_request(method, path, headers, body)
            .unwrap_or_else(|e| panic!("{method} {}{path}: {e}", self.endpoint))
    }

    /// [`S3::request`] with another `Authorization` and content type.
    fn request_as(
        &self,
        method: &str,
        path: &str,
        authorization: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> Response {
        self.try_request_as(method, path, authorization, content_type, headers, body)
            .unwrap_or_else(|e| panic!("{method} {}{path}: {e}", self.endpoint))
    }

    fn try_request(
        &self,
        method: &str,
        path: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        // Without a content type werkzeug parses a PUT body as a form and
        // stores nothing.
        self.try_request_as(
            method,
            path,
            AUTHORIZATION,
            "application/octet-stream",
            headers,
            body,
        )
    }

    fn try_request_as(
        &self,
        method: &str,
        path: &str,
        authorization: &str,
        content_type: &str,
        headers: &[(&str, &str)],
        body: &[u8],
    ) -> std::io::Result<Response> {
        let mut stream = TcpStream::connect(&self.addr)?;
        stream.set_read_timeout(Some(DEADLINE))?;
        stream.set_write_timeout(Some(DEADLINE))?;
        let mut head = format!(
            "{method} {path} HTTP/1.1\r\nhost: {}\r\nauthorization: {authorization}\r\n\
             content-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n",
            self.addr,
            body.len()
        );
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        stream.write_all(head.as_bytes())?;
        stream.write_all(body)?;
        let mut raw = Vec::new();
        stream.read_to_end(&mut raw)?;
        parse_response(&raw, method == "HEAD")
    }
}

/// Parses a raw HTTP/1.1 answer (also Azurite's, tests/support/azurite.rs).
pub fn parse_response(raw: &[u8], head_only: bool) -> std::io::Result<Response> {
    let bad = |what: &str| std::io::Error::other(format!("bad HTTP response ({what})"));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .ok_or_else(|| bad("no end of head"))?;
    let head = String::from_utf8_lossy(&raw[..end]);
    let mut lines = head.split("\r\n");
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| bad("status line"))?;
    let headers: Vec<(String, String)> = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let rest = &raw[end + 4..];
    let chunked = headers
        .iter()
        .any(|(k, v)| k == "transfer-encoding" && v.eq_ignore_ascii_case("chunked"));
    let body = if head_only {
        Vec::new()
    } else if chunked {
        let mut body = Vec::new();
        let mut at = 0;
        loop {
            let line_end = rest[at..]
                .windows(2)
                .position(|w| w == b"\r\n")
                .ok_or_else(|| bad("chunk size"))?;
            let size = std::str::from_utf8(&rest[at..at + line_end])
                .ok()
                .and_then(|s| usize::from_str_radix(s.split(';').next()?.trim(), 16).ok())
                .ok_or_else(|| bad("chunk size"))?;
            at += line_end + 2;
            if size == 0 {
                break body;
            }
            body.extend_from_slice(rest.get(at..at + size).ok_or_else(|| bad("short chunk"))?);
            at += size + 2;
        }
    } else {
        rest.to_vec()
    };
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// A proxy in front of a moto server that passes every request on, except
/// those `fail(method, path)` picks, which get S3's `403 AccessDenied` (a
/// refusal no client retries): an upload broken mid-way, on purpose.
pub struct FailingProxy {
    /// `http://127.0.0.1:PORT`: give it to embarc as `AWS_ENDPOINT_URL`.
    pub endpoint: String,
    /// The requests it refused, as `METHOD /path?query`.
    pub refused: Arc<Mutex<Vec<String>>>,
}

impl S3 {
    /// Starts a [`FailingProxy`] to this server (threads that live as long as
    /// the test process; one request per connection).
    pub fn failing_proxy(self: &Arc<Self>, fail: fn(&str, &str) -> bool) -> FailingProxy {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        let endpoint = format!("http://{}", listener.local_addr().expect("addr"));
        let refused: Arc<Mutex<Vec<String>>> = Arc::default();
        // A weak handle: the proxy outliving the test must not keep moto
        // alive (the server is killed when the test drops its last handle).
        let (s3, log) = (Arc::downgrade(self), refused.clone());
        std::thread::spawn(move || {
            for stream in listener.incoming().map_while(Result::ok) {
                let Some(s3) = s3.upgrade() else { return };
                let log = log.clone();
                std::thread::spawn(move || {
                    let _ = s3.relay(stream, fail, &log);
                });
            }
        });
        FailingProxy { endpoint, refused }
    }

    fn relay(
        &self,
        mut stream: TcpStream,
        fail: fn(&str, &str) -> bool,
        refused: &Mutex<Vec<String>>,
    ) -> std::io::Result<()> {
        let mut reader = BufReader::new(stream.try_clone()?);
        let mut request_line = String::new();
        reader.read_line(&mut request_line)?;
        let mut words = request_line.split_whitespace();
        let (method, path) = (
            words.next().unwrap_or_default().to_string(),
            words.next().unwrap_or_default().to_string(),
        );
        let mut headers = Vec::new();
        loop {
            let mut line = String::new();
            reader.read_line(&mut line)?;
            let line = line.trim_end();
            if line.is_empty() {
                break;
            }
            if let Some((k, v)) = line.split_once(':') {
                headers.push((k.trim().to_ascii_lowercase(), v.trim().to_string()));
            }
        }
        let get = |name: &str| {
            headers
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| v.clone())
        };
        assert!(
            get("transfer-encoding").is_none(),
            "the proxy reads bodies by content-length only: {method} {path}"
        );
        let len: usize = get("content-length")
            .and_then(|n| n.parse().ok())
            .unwrap_or(0);
        let mut body = vec![0u8; len];
        reader.read_exact(&mut body)?;
        let answer = if fail(&method, &path) {
            if let Ok(mut r) = refused.lock() {
                r.push(format!("{method} {path}"));
            }
            let xml = b"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Error><Code>AccessDenied</Code><Message>Access Denied</Message></Error>";
            Response {
                status: 403,
                headers: vec![("content-type".into(), "application/xml".into())],
                body: xml.to_vec(),
            }
        } else {
            let skip = [
                "host",
                "authorization",
                "content-type",
                "content-length",
                "connection",
            ];
            let passed: Vec<(&str, &str)> = headers
                .iter()
                .filter(|(k, _)| !skip.contains(&k.as_str()))
                .map(|(k, v)| (k.as_str(), v.as_str()))
                .collect();
            self.try_request(&method, &path, &passed, &body)?
        };
        let mut out = format!("HTTP/1.1 {} X\r\n", answer.status);
        for (k, v) in &answer.headers {
            let keep_length = method == "HEAD" && k == "content-length";
            if !["transfer-encoding", "connection", "content-length"].contains(&k.as_str())
                || keep_length
            {
                out.push_str(&format!("{k}: {v}\r\n"));
            }
        }
        if method != "HEAD" {
            out.push_str(&format!("content-length: {}\r\n", answer.body.len()));
        }
        out.push_str("connection: close\r\n\r\n");
        stream.write_all(out.as_bytes())?;
        if method != "HEAD" {
            stream.write_all(&answer.body)?;
        }
        stream.flush()
    }
}

impl Drop for S3 {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A log line without its ANSI colours: werkzeug paints the request of a 4xx or
/// 5xx answer (`"\x1b[33mHEAD /b/k HTTP/1.1\x1b[0m" 404`) in some installs and
/// not in others, and the request is read from between the quotes.
pub fn without_colours(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\x1b' {
            // CSI: ESC [ parameters… final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}
