//! CIDs as the AT Protocol uses them: CIDv1, a codec (`raw` 0x55 for blobs,
//! `dag-cbor` 0x71 for records), a SHA-256 multihash (0x12, 32 bytes), written
//! in lower-case base32 with the multibase prefix `b` (`bafkrei…` for a blob).
//! A blob's CID carries the SHA-256 of its bytes, the digest embarc's store
//! names every object by, so checking a stored blob against its CID is a
//! comparison of two digests. Parsing never panics on any input.

/// The `raw` multicodec: a blob's bytes as they are.
pub const RAW: u64 = 0x55;
/// The `dag-cbor` multicodec: a record.
pub const DAG_CBOR: u64 = 0x71;
/// The `sha2-256` multihash code.
const SHA2_256: u64 = 0x12;
/// Longest CID string read (a CIDv1 with a 32-byte digest is 59 characters).
const MAX_LEN: usize = 128;

const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A CIDv1 with a SHA-256 digest.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cid {
    /// The content's multicodec ([`RAW`], [`DAG_CBOR`]…).
    pub codec: u64,
    /// The SHA-256 of the content.
    pub sha256: [u8; 32],
}

impl Cid {
    /// The CID of `bytes` with `codec`.
    pub fn of(codec: u64, bytes: &[u8]) -> Cid {
        use sha2::Digest as _;
        Cid {
            codec,
            sha256: sha2::Sha256::digest(bytes).into(),
        }
    }

    /// Reads a base32 CIDv1 (`b…`) with a SHA-256 multihash; `None` for
    /// anything else (CIDv0 `Qm…`, other bases, other hashes, garbage).
    pub fn parse(s: &str) -> Option<Cid> {
        if s.len() > MAX_LEN {
            return None;
        }
        let bytes = base32_decode(s.strip_prefix('b')?)?;
        let mut rest = bytes.as_slice();
        let version = varint(&mut rest)?;
        let codec = varint(&mut rest)?;
        let hash = varint(&mut rest)?;
        let len = varint(&mut rest)?;
        if version != 1 || hash != SHA2_256 || len != 32 || rest.len() != 32 {
            return None;
        }
        let mut sha256 = [0u8; 32];
        sha256.copy_from_slice(rest);
        Some(Cid { codec, sha256 })
    }

    /// Whether this is a blob's CID (codec `raw`).
    pub fn is_blob(&self) -> bool {
        self.codec == RAW
    }
}

impl std::fmt::Display for Cid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut bytes = vec![1u8];
        put_varint(&mut bytes, self.codec);
        put_varint(&mut bytes, SHA2_256);
        bytes.push(32);
        bytes.extend_from_slice(&self.sha256);
        write!(f, "b{}", base32_encode(&bytes))
    }
}

fn varint(rest: &mut &[u8]) -> Option<u64> {
    let mut value = 0u64;
    for (i, b) in rest.iter().enumerate().take(9) {
        value |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            *rest = &rest[i + 1..];
            return Some(value);
        }
    }
    None
}

fn put_varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8 & 0x7f) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// RFC 4648 base32, lower case, no padding (multibase `b`).
fn base32_decode(s: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(s.len() * 5 / 8);
    let (mut buf, mut bits) = (0u32, 0u32);
    for c in s.bytes() {
        let v = ALPHABET.iter().position(|&a| a == c)? as u32;
        buf = (buf << 5) | v;
        bits += 5;
        if bits >= 8 {
            bits -= 8;
            out.push((buf >> bits) as u8);
            buf &= (1 << bits) - 1;
        }
    }
    // Leftover bits are padding and must be zero, and no character may be
    // spare: one spelling per CID.
    (buf == 0 && s.len() == (out.len() * 8).div_ceil(5)).then_some(out)
}

fn base32_encode(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len() * 8 / 5 + 1);
    let (mut buf, mut bits) = (0u32, 0u32);
    for &b in bytes {
        buf = (buf << 8) | u32::from(b);
        bits += 8;
        while bits >= 5 {
            bits -= 5;
            out.push(ALPHABET[((buf >> bits) & 31) as usize] as char);
        }
        buf &= (1 << bits) - 1;
    }
    if bits > 0 {
        out.push(ALPHABET[((buf << (5 - bits)) & 31) as usize] as char);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let c = Cid::of(RAW, b"hello");
        let s = c.to_string();
        assert!(s.starts_with("bafkrei"), "{s}");
        assert_eq!(Cid::parse(&s), Some(c));
        for bad in [
            "",
            "b",
            "QmYwAPJzv5CZsnA625s3Xf2nemtYgPpHdWEz79ojWnPbdG",
            "bafkrei!!",
            "Bafkreiccldh766hwcnuxnf2wh6jgzepf2nlu2lvcllt63eww5p6chi4ity",
            &s[..s.len() - 1],
            &format!("{s}a"),
        ] {
            assert_eq!(Cid::parse(bad), None, "{bad}");
        }
    }

    #[test]
    fn a_record_cid_is_not_a_blob() {
        let c = Cid::parse("bafyreiclp443lavogvhj3d2ob2cxbfuscni2k5jk7bebjzg7khl3esabwq");
        assert_eq!(c.map(|c| c.codec), Some(DAG_CBOR));
        assert!(!c.is_some_and(|c| c.is_blob()));
    }
}
