//! warc: a small WARC 1.1 writer (ISO 28500:2017) over flate2 and sha2. It
//! owns the record layout — `WARC/1.1`, named fields, `Content-Length`, the
//! block, then `\r\n\r\n` — and puts every record in its own gzip member so
//! that readers can seek to any record by its offset. It knows nothing of
//! embarc's archive: callers hand it fields and a block (head bytes plus a
//! streamed body of a known length) and get back where the record landed.
//!
//! It must never hold a body in memory, and never write a record whose block
//! is not exactly `Content-Length` bytes: a short or long body is an error.

use flate2::Compression;
use flate2::write::GzEncoder;
use std::io::{self, Read, Write};

/// Copy buffer for bodies.
const BUF: usize = 256 * 1024;

/// Named fields of one record, in the order they are written. `Content-Length`
/// is added by the writer from the block's size.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Fields(Vec<(String, String)>);

impl Fields {
    /// A record of `WARC-Type: kind` with its id (`<urn:uuid:…>`) and date.
    pub fn new(kind: &str, record_id: &str, date: &str) -> Fields {
        let mut f = Fields(Vec::with_capacity(10));
        f.push("WARC-Type", kind);
        f.push("WARC-Record-ID", record_id);
        f.push("WARC-Date", date);
        f
    }

    /// Appends a field.
    pub fn push(&mut self, name: &str, value: impl Into<String>) {
        self.0.push((name.to_string(), value.into()));
    }

    /// The first value of a field (name in any case).
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// The record header: `WARC/1.1`, each field as `Name: value`, then
/// `Content-Length` and the blank line that ends the header. A field value
/// holding CR or LF would break the record, so it is refused.
pub fn header_bytes(fields: &Fields, content_length: u64) -> io::Result<Vec<u8>> {
    let mut out = Vec::with_capacity(512);
    out.extend_from_slice(b"WARC/1.1\r\n");
    for (name, value) in &fields.0 {
        if name.is_empty()
            || name.bytes().any(|b| !b.is_ascii_graphic() || b == b':')
            || value.bytes().any(|b| b == b'\r' || b == b'\n')
        {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("WARC field {name:?} cannot be written: {value:?}"),
            ));
        }
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(format!("Content-Length: {content_length}\r\n\r\n").as_bytes());
    Ok(out)
}

/// Where a record landed in the output: the offset and length of its gzip
/// member (what a CDXJ index points at).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Placed {
    /// Byte offset of the member in the file.
    pub offset: u64,
    /// Compressed length of the member.
    pub length: u64,
}

/// How hard to compress one record: media and already-compressed bodies gain
/// nothing from deflate, so they go in stored blocks (still one gzip member).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// Deflate (level 6): HTML, JSON, headers.
    Deflate,
    /// Stored deflate blocks: JPEG, MP4, gzip bodies…
    Store,
}

/// Counts the bytes written through it.
struct Counter<W> {
    inner: W,
    count: u64,
}

impl<W: Write> Write for Counter<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.count += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

/// One record's gzip member, deflated or stored.
enum Member<W: Write> {
    Deflate(GzEncoder<W>),
    Stored(StoredGz<W>),
}

impl<W: Write> Member<W> {
    fn write_all(&mut self, buf: &[u8]) -> io::Result<()> {
        match self {
            Member::Deflate(g) => g.write_all(buf),
            Member::Stored(g) => g.write_all(buf),
        }
    }

    fn finish(self) -> io::Result<()> {
        match self {
            Member::Deflate(g) => g.finish().map(drop),
            Member::Stored(g) => g.finish(),
        }
    }
}

/// A gzip member of stored deflate blocks (RFC 1951 BTYPE 00, RFC 1952
/// framing), written by hand: miniz_oxide's level 0 copies byte by byte and
/// was 40% of an export's time; this is a memcpy and a CRC. Blocks are
/// always 65,535 bytes but the last, so the output does not depend on how
/// the input was chunked.
struct StoredGz<W: Write> {
    out: W,
    crc: flate2::Crc,
    block: Vec<u8>,
}

const STORED_BLOCK: usize = 65_535;

impl<W: Write> StoredGz<W> {
    fn new(mut out: W) -> io::Result<Self> {
        // ID1 ID2, CM=deflate, no flags, MTIME 0, XFL 0, OS 255 (unknown).
        out.write_all(&[0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 0xff])?;
        Ok(StoredGz {
            out,
            crc: flate2::Crc::new(),
            block: Vec::with_capacity(STORED_BLOCK),
        })
    }

    fn emit(&mut self, last: bool) -> io::Result<()> {
        let len = self.block.len() as u16;
        let nlen = !len;
        let [l0, l1] = len.to_le_bytes();
        let [n0, n1] = nlen.to_le_bytes();
        self.out.write_all(&[u8::from(last), l0, l1, n0, n1])?;
        self.out.write_all(&self.block)?;
        self.block.clear();
        Ok(())
    }

    fn write_all(&mut self, mut buf: &[u8]) -> io::Result<()> {
        self.crc.update(buf);
        while !buf.is_empty() {
            let take = (STORED_BLOCK - self.block.len()).min(buf.len());
            self.block.extend_from_slice(&buf[..take]);
            buf = &buf[take..];
            if self.block.len() == STORED_BLOCK {
                self.emit(false)?;
            }
        }
        Ok(())
    }

    fn finish(mut self) -> io::Result<()> {
        self.emit(true)?;
        let (crc, size) = (self.crc.sum(), self.crc.amount());
        self.out.write_all(&crc.to_le_bytes())?;
        self.out.write_all(&size.to_le_bytes())?;
        Ok(())
    }
}

/// Writes gzip-per-record WARC 1.1 to `W`.
pub struct WarcWriter<W: Write> {
    out: Counter<W>,
    records: u64,
}

impl<W: Write> WarcWriter<W> {
    /// A writer appending to `out` (at offset 0).
    pub fn new(out: W) -> Self {
        WarcWriter {
            out: Counter {
                inner: out,
                count: 0,
            },
            records: 0,
        }
    }

    /// Bytes written so far (the offset of the next record).
    pub fn offset(&self) -> u64 {
        self.out.count
    }

    /// Records written so far.
    pub fn records(&self) -> u64 {
        self.records
    }

    /// Writes one record whose block is `head` followed by exactly `body_len`
    /// bytes read from `body` (read to its end, so a verifying reader gets to
    /// check what it gave). Returns where the gzip member landed.
    pub fn write_record(
        &mut self,
        fields: &Fields,
        head: &[u8],
        body: &mut dyn Read,
        body_len: u64,
        packing: Packing,
    ) -> io::Result<Placed> {
        let content_length = head.len() as u64 + body_len;
        let header = header_bytes(fields, content_length)?;
        let offset = self.out.count;
        let level = Compression::new(6);
        let mut gz = match packing {
            Packing::Deflate => Member::Deflate(GzEncoder::new(&mut self.out, level)),
            Packing::Store => Member::Stored(StoredGz::new(&mut self.out)?),
        };
        gz.write_all(&header)?;
        gz.write_all(head)?;
        let mut buf = vec![0u8; BUF.min(body_len.max(1).try_into().unwrap_or(BUF))];
        let mut copied = 0u64;
        loop {
            let n = match body.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            copied += n as u64;
            if copied > body_len {
                break;
            }
            gz.write_all(&buf[..n])?;
        }
        if copied != body_len {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "the body of {} has {copied}{} bytes, not the {body_len} announced",
                    fields.get("WARC-Target-URI").unwrap_or("a record"),
                    if copied > body_len { "+" } else { "" }
                ),
            ));
        }
        gz.write_all(b"\r\n\r\n")?;
        gz.finish()?;
        self.records += 1;
        Ok(Placed {
            offset,
            length: self.out.count - offset,
        })
    }

    /// Flushes and returns the underlying writer.
    pub fn into_inner(mut self) -> io::Result<W> {
        self.out.flush()?;
        Ok(self.out.inner)
    }
}

/// Lowercase hex of the SHA-256 of `head` followed by everything `body` gives,
/// and the body's length: the `WARC-Block-Digest` of a record, computed in a
/// streaming pass before the record is written (the header must come first).
pub fn block_digest(head: &[u8], body: &mut dyn Read) -> io::Result<(crate::store::Digest, u64)> {
    let mut hasher = crate::store::Hasher::new();
    hasher.update(head);
    let mut buf = vec![0u8; BUF];
    let mut n_total = 0u64;
    loop {
        let n = match body.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
            Err(e) => return Err(e),
        };
        hasher.update(&buf[..n]);
        n_total += n as u64;
    }
    Ok((hasher.finish(), n_total))
}

/// A `urn:uuid:` record id (version 8, RFC 9562: custom) made from the first
/// 16 bytes of a SHA-256, so the same content always gets the same id.
pub fn record_id(seed: &[u8]) -> String {
    let d = crate::store::Digest::of(seed).0;
    let mut b = [0u8; 16];
    b.copy_from_slice(&d[..16]);
    b[6] = (b[6] & 0x0f) | 0x80;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!(
        "<urn:uuid:{}-{}-{}-{}-{}>",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..]
    )
}

/// `WARC-Date`: UTC, `YYYY-MM-DDThh:mm:ssZ`, with microseconds when the time
/// has them (WARC 1.1 allows a fraction of a second).
pub fn warc_date(t: time::OffsetDateTime) -> String {
    let t = t.to_offset(time::UtcOffset::UTC);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.microsecond() {
        0 => format!("{base}Z"),
        us => format!("{base}.{us:06}Z"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use flate2::read::MultiGzDecoder;

    /// The warcinfo record of WARC 1.1 (annex D.1), as our writer lays it out.
    const SPEC_WARCINFO_BLOCK: &str = "software: Heritrix 1.12.0 http://crawler.archive.org\r\n\
hostname: crawling017.archive.org\r\n\
ip: 207.241.227.234\r\n\
isPartOf: testcrawl-20050708\r\n\
description: testcrawl with WIDE settings\r\n\
operator: IA_Admin\r\n\
http-header-user-agent:\r\n Mozilla/5.0 (compatible; heritrix/1.4.0 +http://crawler.archive.org)\r\n\
format: WARC file version 1.1\r\n\
conformsTo:\r\n http://www.archive.org/documents/WarcFileFormat-1.1.html\r\n";

    fn gunzip(bytes: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        MultiGzDecoder::new(bytes)
            .read_to_end(&mut out)
            .expect("gunzip");
        out
    }

    #[test]
    fn spec_warcinfo_example_is_laid_out_exactly() {
        let mut fields = Fields::new(
            "warcinfo",
            "<urn:uuid:d7ae5c10-e6b3-4d27-967d-34780c58ba39>",
            "2016-09-19T17:20:14Z",
        );
        fields.push("Content-Type", "application/warc-fields");
        let mut w = WarcWriter::new(Vec::new());
        let block = SPEC_WARCINFO_BLOCK.as_bytes();
        let placed = w
            .write_record(&fields, block, &mut io::empty(), 0, Packing::Deflate)
            .expect("write");
        let out = w.into_inner().expect("inner");
        assert_eq!(placed.offset, 0);
        assert_eq!(placed.length, out.len() as u64);
        let text = gunzip(&out);
        let expected = format!(
            "WARC/1.1\r\n\
WARC-Type: warcinfo\r\n\
WARC-Record-ID: <urn:uuid:d7ae5c10-e6b3-4d27-967d-34780c58ba39>\r\n\
WARC-Date: 2016-09-19T17:20:14Z\r\n\
Content-Type: application/warc-fields\r\n\
Content-Length: {}\r\n\
\r\n\
{SPEC_WARCINFO_BLOCK}\r\n\r\n",
            block.len()
        );
        assert_eq!(String::from_utf8_lossy(&text), expected);
    }

    #[test]
    fn spec_request_and_response_examples_round_trip_with_exact_lengths() {
        // WARC 1.1 annex D.2 / D.3: a request and its response, concurrent.
        let req_id = "<urn:uuid:4885803b-eebd-4b27-a090-144450c11594>";
        let resp_id = "<urn:uuid:92283950-ef2f-4d72-b224-f54c6ec90bb0>";
        let req_head = b"GET /images/logoc.jpg HTTP/1.0\r\nUser-Agent: Mozilla/5.0 (compatible; heritrix/1.10.0)\r\nFrom: stack@example.org\r\nConnection: close\r\nReferer: http://www.archive.org/\r\nHost: www.archive.org\r\n\r\n";
        let resp_head = b"HTTP/1.1 200 OK\r\nDate: Tue, 19 Sep 2016 17:18:40 GMT\r\nServer: Apache/2.0.54 (Ubuntu)\r\nLast-Modified: Mon, 16 Jun 2003 22:28:51 GMT\r\nETag: \"3e45-67e-2ed02ec0\"\r\nAccept-Ranges: bytes\r\nContent-Length: 1662\r\nConnection: close\r\nContent-Type: image/jpeg\r\n\r\n";
        let body: Vec<u8> = (0..1662u32).map(|i| (i % 251) as u8).collect();
        let mut w = WarcWriter::new(Vec::new());
        let mut f = Fields::new("request", req_id, "2016-09-19T17:20:24Z");
        f.push("WARC-Target-URI", "http://www.archive.org/images/logoc.jpg");
        f.push("Content-Type", "application/http;msgtype=request");
        f.push("WARC-Concurrent-To", resp_id);
        let a = w
            .write_record(&f, req_head, &mut io::empty(), 0, Packing::Deflate)
            .expect("request");
        let mut f = Fields::new("response", resp_id, "2016-09-19T17:20:24Z");
        f.push("WARC-Target-URI", "http://www.archive.org/images/logoc.jpg");
        f.push("Content-Type", "application/http;msgtype=response");
        let (digest, n) = block_digest(resp_head, &mut &body[..]).expect("digest");
        assert_eq!(n, 1662);
        f.push("WARC-Block-Digest", format!("sha256:{}", digest.hex()));
        let b = w
            .write_record(&f, resp_head, &mut &body[..], n, Packing::Store)
            .expect("response");
        let out = w.into_inner().expect("inner");
        assert_eq!(b.offset, a.length, "members are back to back");
        // Each member alone is one whole record.
        let second = gunzip(&out[b.offset as usize..]);
        let split = second
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
            .expect("end of header")
            + 4;
        let header = String::from_utf8_lossy(&second[..split]);
        assert!(header.starts_with("WARC/1.1\r\nWARC-Type: response\r\n"));
        let len: usize = header
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.trim().parse().ok())
            .expect("Content-Length");
        assert_eq!(len, resp_head.len() + body.len());
        let block = &second[split..split + len];
        assert_eq!(&block[..resp_head.len()], resp_head);
        assert_eq!(&block[resp_head.len()..], &body[..]);
        assert_eq!(&second[split + len..], b"\r\n\r\n");
        assert_eq!(crate::store::Digest::of(block), digest);
        let first = String::from_utf8_lossy(&gunzip(&out[..a.length as usize])).into_owned();
        assert!(first.contains(&format!("WARC-Concurrent-To: {resp_id}\r\n")));
        assert!(first.ends_with("Host: www.archive.org\r\n\r\n\r\n\r\n"));
    }

    #[test]
    fn stored_members_decode_to_their_input_whatever_the_chunking() {
        for len in [0usize, 1, 65_535, 65_536, 200_000] {
            let data: Vec<u8> = (0..len).map(|i| (i * 31 % 256) as u8).collect();
            let mut one = Vec::new();
            let mut g = StoredGz::new(&mut one).expect("gz");
            g.write_all(&data).expect("write");
            g.finish().expect("finish");
            let mut two = Vec::new();
            let mut g = StoredGz::new(&mut two).expect("gz");
            for c in data.chunks(7_777) {
                g.write_all(c).expect("write");
            }
            g.finish().expect("finish");
            assert_eq!(one, two, "same bytes however it is fed ({len})");
            assert_eq!(gunzip(&one), data, "{len}");
        }
    }

    #[test]
    fn a_body_of_the_wrong_length_is_refused() {
        let f = Fields::new("resource", "<urn:uuid:x>", "2020-01-01T00:00:00Z");
        let mut w = WarcWriter::new(Vec::new());
        assert!(
            w.write_record(&f, b"", &mut &b"abc"[..], 4, Packing::Store)
                .is_err()
        );
        assert!(
            w.write_record(&f, b"", &mut &b"abcde"[..], 4, Packing::Store)
                .is_err()
        );
    }

    #[test]
    fn fields_with_line_breaks_are_refused() {
        let mut f = Fields::new("resource", "<urn:uuid:x>", "2020-01-01T00:00:00Z");
        f.push("WARC-Target-URI", "http://a/\r\nWARC-Type: evil");
        assert!(header_bytes(&f, 0).is_err());
    }

    #[test]
    fn ids_are_stable_uuids_and_dates_are_utc() {
        let a = record_id(b"x");
        assert_eq!(a, record_id(b"x"));
        assert_ne!(a, record_id(b"y"));
        assert_eq!(a.len(), "<urn:uuid:>".len() + 36);
        assert_eq!(&a[24..25], "8", "version 8: {a}");
        assert_eq!(
            warc_date(time::macros::datetime!(2024-06-20 10:00:00 +02:00)),
            "2024-06-20T08:00:00Z"
        );
        assert_eq!(
            warc_date(time::macros::datetime!(2024-06-20 10:00:00.000123 UTC)),
            "2024-06-20T10:00:00.000123Z"
        );
    }
}
