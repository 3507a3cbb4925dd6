//! wacz: packs an exported WARC into a WACZ 1.1.1 file — a ZIP of stored
//! (not deflated) entries: `archive/data.warc.gz`, `indexes/index.cdxj`,
//! `pages/pages.jsonl`, `datapackage.json` (every other file's sha256 and
//! size) and `datapackage-digest.json` (the hash of `datapackage.json`).
//!
//! The ZIP writer is our own and minimal: stored entries only, sizes and CRCs
//! known before each entry (the WARC's are computed while it is written), and
//! ZIP64 records as soon as a size or an offset does not fit 32 bits. It
//! copies the WARC from its file; nothing large is held in memory.

use crate::store::{Digest, Hasher};
use serde_json::json;
use std::io::{self, Read, Write};

/// The WARC's path inside the WACZ.
pub const WARC_PATH: &str = "archive/data.warc.gz";
/// The WARC's name as the CDXJ index gives it (relative to `archive/`).
pub const WARC_NAME: &str = "data.warc.gz";
/// The WACZ version written.
pub const WACZ_VERSION: &str = "1.1.1";

/// One post's page in `pages/pages.jsonl`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page {
    /// The post's URL.
    pub url: String,
    /// Its newest capture time, `YYYY-MM-DDThh:mm:ssZ`.
    pub ts: String,
    /// A short title (author and text).
    pub title: String,
}

/// What goes into a WACZ besides the WARC itself.
pub struct Contents<'a> {
    /// The WARC, readable from its start.
    pub warc: &'a mut dyn Read,
    /// Its size in bytes.
    pub warc_bytes: u64,
    /// Its CRC-32 (computed while it was written).
    pub warc_crc: u32,
    /// Its SHA-256.
    pub warc_sha256: Digest,
    /// The sorted CDXJ index text.
    pub cdxj: String,
    /// Pages, one per post.
    pub pages: Vec<Page>,
    /// Creation time (the `created` field and the entries' ZIP times).
    pub created: time::OffsetDateTime,
    /// Package title.
    pub title: String,
}

/// `pages/pages.jsonl`: the header line, then one line per page.
pub fn pages_jsonl(pages: &[Page]) -> String {
    let mut out =
        json!({"format": "json-pages-1.0", "id": "pages", "title": "All Pages"}).to_string();
    out.push('\n');
    for p in pages {
        let id = &Digest::of(format!("{}\n{}", p.url, p.ts).as_bytes()).hex()[..32];
        out.push_str(&json!({"id": id, "url": p.url, "ts": p.ts, "title": p.title}).to_string());
        out.push('\n');
    }
    out
}

/// The compressed index inside the WACZ (WACZ 1.1.1 "compressed CDXJ"): the
/// sorted CDXJ lines in gzip members of [`LINES_PER_BLOCK`] lines each.
/// pywb's `wb-manager add --unpack-wacz` reads it as one gzip stream;
/// ReplayWeb.page binary-searches [`IDX_PATH`] and inflates one block.
pub const CDX_GZ_PATH: &str = "indexes/index.cdx.gz";
/// The index of [`CDX_GZ_PATH`]: a `!meta` line, then the first key and
/// time of each block with its offset, length and digest.
pub const IDX_PATH: &str = "indexes/index.idx";
/// CDXJ lines per gzip member (cdxj-indexer's and py-wacz's default).
pub const LINES_PER_BLOCK: usize = 300;

/// `cdxj` (sorted lines) as the compressed index and its `.idx`, the way
/// `cdxj-indexer --compress` writes them.
pub fn compressed_index(cdxj: &str) -> io::Result<(Vec<u8>, String)> {
    let mut data = Vec::new();
    let mut idx = json!({"format": "cdxj-gzip-1.0", "filename": "index.cdx.gz"}).to_string();
    idx.insert_str(0, "!meta 0 ");
    idx.push('\n');
    let lines: Vec<&str> = cdxj.lines().collect();
    for block in lines.chunks(LINES_PER_BLOCK) {
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        for l in block {
            gz.write_all(l.as_bytes())?;
            gz.write_all(b"\n")?;
        }
        let member = gz.finish()?;
        // The block's first key and time: the line up to its JSON.
        let prefix = block[0].split_once(" {").map_or(block[0], |(p, _)| p);
        idx.push_str(&format!(
            "{prefix} {}\n",
            json!({
                "offset": data.len(),
                "length": member.len(),
                "digest": format!("sha256:{}", Digest::of(&member).hex()),
            })
        ));
        data.extend_from_slice(&member);
    }
    Ok((data, idx))
}

/// Writes the WACZ to `out`.
pub fn write<W: Write>(out: W, c: Contents<'_>) -> io::Result<W> {
    let mut zip = ZipWriter::new(out, c.created);
    zip.add(WARC_PATH, c.warc, c.warc_bytes, c.warc_crc)?;
    let pages = pages_jsonl(&c.pages);
    let (cdx_gz, idx) = compressed_index(&c.cdxj)?;
    zip.add_bytes(CDX_GZ_PATH, &cdx_gz)?;
    zip.add_bytes(IDX_PATH, idx.as_bytes())?;
    zip.add_bytes("pages/pages.jsonl", pages.as_bytes())?;
    let resource = |path: &str, bytes: u64, hash: Digest| {
        json!({
            "name": path.rsplit('/').next().unwrap_or(path),
            "path": path,
            "hash": format!("sha256:{}", hash.hex()),
            "bytes": bytes,
        })
    };
    let created = c
        .created
        .to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(c.created)
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let package = json!({
        "profile": "data-package",
        "resources": [
            resource(WARC_PATH, c.warc_bytes, c.warc_sha256),
            resource(CDX_GZ_PATH, cdx_gz.len() as u64, Digest::of(&cdx_gz)),
            resource(IDX_PATH, idx.len() as u64, Digest::of(idx.as_bytes())),
            resource("pages/pages.jsonl", pages.len() as u64, Digest::of(pages.as_bytes())),
        ],
        "title": c.title,
        "created": created,
        "wacz_version": WACZ_VERSION,
        "software": format!("embarc {}", env!("CARGO_PKG_VERSION")),
    });
    let package = serde_json::to_vec_pretty(&package).map_err(io::Error::other)?;
    zip.add_bytes("datapackage.json", &package)?;
    let digest = json!({
        "path": "datapackage.json",
        "hash": format!("sha256:{}", Digest::of(&package).hex()),
    });
    zip.add_bytes(
        "datapackage-digest.json",
        &serde_json::to_vec_pretty(&digest).map_err(io::Error::other)?,
    )?;
    zip.finish()
}

/// One central-directory entry.
struct Central {
    name: String,
    crc: u32,
    size: u64,
    offset: u64,
}

/// A ZIP of stored entries (ZIP64 when needed).
pub struct ZipWriter<W: Write> {
    out: W,
    offset: u64,
    entries: Vec<Central>,
    time: u16,
    date: u16,
    /// Sizes and offsets at or above this use ZIP64 fields (`u32::MAX` in
    /// practice; lower in tests).
    zip64_from: u64,
}

const MAX32: u64 = 0xFFFF_FFFF;

impl<W: Write> ZipWriter<W> {
    /// A ZIP whose entries carry the time `t` (MS-DOS format, 2 s steps).
    pub fn new(out: W, t: time::OffsetDateTime) -> Self {
        let t = t.to_offset(time::UtcOffset::UTC);
        let year = u16::try_from(t.year().clamp(1980, 2107) - 1980).unwrap_or(0);
        ZipWriter {
            out,
            offset: 0,
            entries: Vec::new(),
            time: (u16::from(t.hour()) << 11)
                | (u16::from(t.minute()) << 5)
                | u16::from(t.second() / 2),
            date: (year << 9) | (u16::from(u8::from(t.month())) << 5) | u16::from(t.day()),
            zip64_from: MAX32,
        }
    }

    fn put(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.out.write_all(bytes)?;
        self.offset += bytes.len() as u64;
        Ok(())
    }

    /// Adds a small entry from memory.
    pub fn add_bytes(&mut self, name: &str, bytes: &[u8]) -> io::Result<()> {
        let mut crc = flate2::Crc::new();
        crc.update(bytes);
        self.add(name, &mut &bytes[..], bytes.len() as u64, crc.sum())
    }

    /// Adds a stored entry of exactly `size` bytes read from `data`, whose
    /// CRC-32 must be `crc` (checked while copying).
    pub fn add(&mut self, name: &str, data: &mut dyn Read, size: u64, crc: u32) -> io::Result<()> {
        let offset = self.offset;
        let zip64 = size >= self.zip64_from;
        let mut h = Vec::with_capacity(64 + name.len());
        h.extend_from_slice(&0x0403_4b50u32.to_le_bytes());
        h.extend_from_slice(&(if zip64 { 45u16 } else { 20u16 }).to_le_bytes());
        h.extend_from_slice(&0x0800u16.to_le_bytes()); // UTF-8 names
        h.extend_from_slice(&0u16.to_le_bytes()); // stored
        h.extend_from_slice(&self.time.to_le_bytes());
        h.extend_from_slice(&self.date.to_le_bytes());
        h.extend_from_slice(&crc.to_le_bytes());
        let small = if zip64 { MAX32 as u32 } else { size as u32 };
        h.extend_from_slice(&small.to_le_bytes());
        h.extend_from_slice(&small.to_le_bytes());
        h.extend_from_slice(&(name.len() as u16).to_le_bytes());
        h.extend_from_slice(&(if zip64 { 20u16 } else { 0u16 }).to_le_bytes());
        h.extend_from_slice(name.as_bytes());
        if zip64 {
            h.extend_from_slice(&1u16.to_le_bytes());
            h.extend_from_slice(&16u16.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
        }
        self.put(&h)?;
        let mut check = flate2::Crc::new();
        let mut buf = vec![0u8; 256 * 1024];
        let mut copied = 0u64;
        loop {
            let n = match data.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            };
            check.update(&buf[..n]);
            self.put(&buf[..n])?;
            copied += n as u64;
        }
        if copied != size || check.sum() != crc {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!(
                    "{name}: {copied} bytes copied, CRC {:08x}; expected {size} bytes, CRC {crc:08x} (the file changed while it was packed)",
                    check.sum()
                ),
            ));
        }
        self.entries.push(Central {
            name: name.to_string(),
            crc,
            size,
            offset,
        });
        Ok(())
    }

    /// Writes the central directory (and ZIP64 end records when needed).
    pub fn finish(mut self) -> io::Result<W> {
        let cd_start = self.offset;
        let entries = std::mem::take(&mut self.entries);
        for e in &entries {
            let mut extra = Vec::new();
            let big_size = e.size >= self.zip64_from;
            let big_offset = e.offset >= self.zip64_from;
            if big_size {
                extra.extend_from_slice(&e.size.to_le_bytes());
                extra.extend_from_slice(&e.size.to_le_bytes());
            }
            if big_offset {
                extra.extend_from_slice(&e.offset.to_le_bytes());
            }
            let zip64 = !extra.is_empty();
            let mut h = Vec::with_capacity(64 + e.name.len());
            h.extend_from_slice(&0x0201_4b50u32.to_le_bytes());
            h.extend_from_slice(&(45u16 | (3 << 8)).to_le_bytes()); // made by: Unix, 4.5
            h.extend_from_slice(&(if zip64 { 45u16 } else { 20u16 }).to_le_bytes());
            h.extend_from_slice(&0x0800u16.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes());
            h.extend_from_slice(&self.time.to_le_bytes());
            h.extend_from_slice(&self.date.to_le_bytes());
            h.extend_from_slice(&e.crc.to_le_bytes());
            let size = if big_size {
                MAX32 as u32
            } else {
                e.size as u32
            };
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&size.to_le_bytes());
            h.extend_from_slice(&(e.name.len() as u16).to_le_bytes());
            let extra_len = if zip64 { extra.len() as u16 + 4 } else { 0 };
            h.extend_from_slice(&extra_len.to_le_bytes());
            h.extend_from_slice(&0u16.to_le_bytes()); // comment
            h.extend_from_slice(&0u16.to_le_bytes()); // disk
            h.extend_from_slice(&0u16.to_le_bytes()); // internal attributes
            h.extend_from_slice(&(0o100644u32 << 16).to_le_bytes()); // -rw-r--r--
            let off = if big_offset {
                MAX32 as u32
            } else {
                e.offset as u32
            };
            h.extend_from_slice(&off.to_le_bytes());
            h.extend_from_slice(e.name.as_bytes());
            if zip64 {
                h.extend_from_slice(&1u16.to_le_bytes());
                h.extend_from_slice(&(extra.len() as u16).to_le_bytes());
                h.extend_from_slice(&extra);
            }
            self.put(&h)?;
        }
        let cd_size = self.offset - cd_start;
        let count = entries.len() as u64;
        let need64 = cd_start >= self.zip64_from || cd_size >= self.zip64_from || count >= 0xFFFF;
        if need64 {
            let eocd64 = self.offset;
            let mut h = Vec::with_capacity(76);
            h.extend_from_slice(&0x0606_4b50u32.to_le_bytes());
            h.extend_from_slice(&44u64.to_le_bytes());
            h.extend_from_slice(&(45u16 | (3 << 8)).to_le_bytes());
            h.extend_from_slice(&45u16.to_le_bytes());
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&count.to_le_bytes());
            h.extend_from_slice(&count.to_le_bytes());
            h.extend_from_slice(&cd_size.to_le_bytes());
            h.extend_from_slice(&cd_start.to_le_bytes());
            h.extend_from_slice(&0x0706_4b50u32.to_le_bytes());
            h.extend_from_slice(&0u32.to_le_bytes());
            h.extend_from_slice(&eocd64.to_le_bytes());
            h.extend_from_slice(&1u32.to_le_bytes());
            self.put(&h)?;
        }
        let mut h = Vec::with_capacity(22);
        h.extend_from_slice(&0x0605_4b50u32.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        let n16 = if need64 { 0xFFFF } else { count as u16 };
        h.extend_from_slice(&n16.to_le_bytes());
        h.extend_from_slice(&n16.to_le_bytes());
        let clamp = |v: u64| if need64 { MAX32 as u32 } else { v as u32 };
        h.extend_from_slice(&clamp(cd_size).to_le_bytes());
        h.extend_from_slice(&clamp(cd_start).to_le_bytes());
        h.extend_from_slice(&0u16.to_le_bytes());
        self.put(&h)?;
        self.out.flush()?;
        Ok(self.out)
    }
}

/// SHA-256, CRC-32 and size of what passes through (the WARC as it is written,
/// the WACZ as it is packed).
pub struct Tally<W> {
    inner: W,
    hasher: Hasher,
    crc: flate2::Crc,
    bytes: u64,
}

impl<W: Write> Tally<W> {
    /// Wraps `inner`.
    pub fn new(inner: W) -> Self {
        Tally {
            inner,
            hasher: Hasher::new(),
            crc: flate2::Crc::new(),
            bytes: 0,
        }
    }

    /// Bytes so far.
    pub fn bytes(&self) -> u64 {
        self.bytes
    }

    /// The writer, the SHA-256, the CRC-32 and the size of everything written.
    pub fn finish(self) -> (W, Digest, u32, u64) {
        (self.inner, self.hasher.finish(), self.crc.sum(), self.bytes)
    }
}

impl<W: Write> Write for Tally<W> {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.hasher.update(&buf[..n]);
        self.crc.update(&buf[..n]);
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> io::Result<()> {
        self.inner.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal reader of our own ZIPs: the central directory's names,
    /// sizes and offsets, following ZIP64 records.
    fn read_central(zip: &[u8]) -> Vec<(String, u64, u64)> {
        let le16 = |b: &[u8], i: usize| u16::from_le_bytes([b[i], b[i + 1]]) as u64;
        let le32 =
            |b: &[u8], i: usize| u32::from_le_bytes([b[i], b[i + 1], b[i + 2], b[i + 3]]) as u64;
        let le64 = |b: &[u8], i: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&b[i..i + 8]);
            u64::from_le_bytes(a)
        };
        let eocd = zip.len() - 22;
        assert_eq!(le32(zip, eocd), 0x0605_4b50);
        let (mut count, mut start) = (le16(zip, eocd + 10), le32(zip, eocd + 16));
        if start == MAX32 {
            let loc = eocd - 20;
            assert_eq!(le32(zip, loc), 0x0706_4b50);
            let e64 = le64(zip, loc + 8) as usize;
            assert_eq!(le32(zip, e64), 0x0606_4b50);
            count = le64(zip, e64 + 32);
            start = le64(zip, e64 + 48);
        }
        let mut out = Vec::new();
        let mut i = start as usize;
        for _ in 0..count {
            assert_eq!(le32(zip, i), 0x0201_4b50);
            let name_len = le16(zip, i + 28) as usize;
            let extra_len = le16(zip, i + 30) as usize;
            let mut size = le32(zip, i + 24);
            let mut offset = le32(zip, i + 42);
            let name = String::from_utf8_lossy(&zip[i + 46..i + 46 + name_len]).into_owned();
            let mut x = i + 46 + name_len + 4;
            if size == MAX32 {
                size = le64(zip, x);
                x += 16;
            }
            if offset == MAX32 {
                offset = le64(zip, x);
            }
            out.push((name, size, offset));
            i += 46 + name_len + extra_len;
        }
        out
    }

    fn sample(zip64_from: u64) -> Vec<u8> {
        let t = time::macros::datetime!(2024-06-20 10:00:00 UTC);
        let mut z = ZipWriter::new(Vec::new(), t);
        z.zip64_from = zip64_from;
        z.add_bytes("a/one.txt", b"hello").expect("add");
        z.add_bytes("two.txt", b"world!").expect("add");
        z.finish().expect("finish")
    }

    #[test]
    fn stored_entries_are_found_through_the_central_directory() {
        for zip64_from in [MAX32, 0] {
            let zip = sample(zip64_from);
            let entries = read_central(&zip);
            assert_eq!(entries.len(), 2, "zip64 from {zip64_from}");
            for (name, size, offset) in entries {
                let o = offset as usize;
                let name_len = u16::from_le_bytes([zip[o + 26], zip[o + 27]]) as usize;
                let extra_len = u16::from_le_bytes([zip[o + 28], zip[o + 29]]) as usize;
                let data = &zip[o + 30 + name_len + extra_len..][..size as usize];
                let want: &[u8] = if name == "a/one.txt" {
                    b"hello"
                } else {
                    b"world!"
                };
                assert_eq!(data, want, "{name}, zip64 from {zip64_from}");
            }
        }
    }

    #[test]
    fn a_wrong_crc_or_size_is_refused() {
        let t = time::macros::datetime!(2024-06-20 10:00:00 UTC);
        let mut z = ZipWriter::new(Vec::new(), t);
        assert!(z.add("x", &mut &b"abc"[..], 3, 0).is_err());
        assert!(z.add("y", &mut &b"abc"[..], 4, 0x352441c2).is_err());
    }

    #[test]
    fn pages_start_with_the_format_line() {
        let text = pages_jsonl(&[Page {
            url: "https://twitter.com/a/status/1".into(),
            ts: "2024-06-20T10:00:00Z".into(),
            title: "@a: hi".into(),
        }]);
        let lines: Vec<serde_json::Value> = text
            .lines()
            .map(|l| serde_json::from_str(l).expect("JSON"))
            .collect();
        assert_eq!(lines[0]["format"], "json-pages-1.0");
        assert_eq!(lines[0]["id"], "pages");
        assert_eq!(lines[1]["url"], "https://twitter.com/a/status/1");
        assert_eq!(lines[1]["ts"], "2024-06-20T10:00:00Z");
    }
}
