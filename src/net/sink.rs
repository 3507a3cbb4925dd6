//! Where response bodies go as they arrive: the caller gives the client a
//! [`BodyStore`] (the archive's object writer, or [`Memory`]), which hands out
//! one [`BodySink`] per attempt. The client hashes nothing itself and knows
//! nothing of the store; it only writes chunks and finishes the sink.

use crate::digest::{Digest, Hasher};

/// Hands out a fresh sink for each response body (each attempt of a request).
pub trait BodyStore: Send + Sync {
    /// A new, empty sink.
    fn sink(&self) -> crate::Result<Box<dyn BodySink>>;
}

/// One body being received. Dropped unfinished (an error, a timeout, a
/// cancelled run), it must leave nothing behind under a final name.
pub trait BodySink: Send {
    /// Appends a chunk.
    fn write(&mut self, chunk: &[u8]) -> crate::Result<()>;
    /// Makes the body durable; returns its SHA-256 and size. May block.
    fn finish(self: Box<Self>) -> crate::Result<(Digest, u64)>;
}

/// Bodies that are read, not archived (an article page to scan): only hashed,
/// so the exchange still names the body; the bytes come back through
/// `keep_up_to`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory;

struct HashOnly {
    hasher: Hasher,
    bytes: u64,
}

impl BodyStore for Memory {
    fn sink(&self) -> crate::Result<Box<dyn BodySink>> {
        Ok(Box::new(HashOnly {
            hasher: Hasher::new(),
            bytes: 0,
        }))
    }
}

impl BodySink for HashOnly {
    fn write(&mut self, chunk: &[u8]) -> crate::Result<()> {
        self.hasher.update(chunk);
        self.bytes += chunk.len() as u64;
        Ok(())
    }

    fn finish(self: Box<Self>) -> crate::Result<(Digest, u64)> {
        Ok((self.hasher.finish(), self.bytes))
    }
}
