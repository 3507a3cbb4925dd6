//! Offset maps: how a byte position in derived text (a decoded document, or the
//! visible-text stream of an HTML page) maps back to the article's original bytes.
//!
//! Spans must point into the file as read from disk, whatever decoding happened.

/// One piece of the mapping.
#[derive(Debug, Clone, Copy)]
struct Seg {
    /// Start in the derived text.
    dst: usize,
    /// Length in the derived text.
    dst_len: usize,
    /// Start in the source.
    src: usize,
    /// Length in the source.
    src_len: usize,
}

impl Seg {
    /// Linear segments map byte for byte (ratio `src_len / dst_len` of 1 or 2);
    /// others (an entity, a multi-byte character) map as a whole.
    fn ratio(&self) -> Option<usize> {
        if self.dst_len == 0 {
            None
        } else if self.src_len == self.dst_len {
            Some(1)
        } else if self.src_len == 2 * self.dst_len {
            Some(2)
        } else {
            None
        }
    }
}

/// A piecewise map from derived offsets to source offsets. Empty means identity.
#[derive(Debug, Clone, Default)]
pub struct OffsetMap {
    segs: Vec<Seg>,
    identity: bool,
}

impl OffsetMap {
    /// The identity map (derived text *is* the source).
    pub fn identity() -> Self {
        OffsetMap {
            segs: Vec::new(),
            identity: true,
        }
    }

    /// An empty map to be filled with [`OffsetMap::push`].
    pub fn new() -> Self {
        OffsetMap::default()
    }

    /// Records that derived bytes `[dst, dst+dst_len)` came from source bytes
    /// `[src, src+src_len)`. Calls must come in increasing `dst` order.
    pub fn push(&mut self, dst: usize, dst_len: usize, src: usize, src_len: usize) {
        let seg = Seg {
            dst,
            dst_len,
            src,
            src_len,
        };
        if let Some(last) = self.segs.last_mut() {
            // Synthetic text (line breaks) at one source offset: one segment.
            if src_len == 0
                && last.src_len == 0
                && last.src == src
                && last.dst + last.dst_len == dst
            {
                last.dst_len += dst_len;
                return;
            }
            // Merge runs that continue each other linearly with the same ratio.
            if let (Some(a), Some(b)) = (last.ratio(), seg.ratio())
                && a == b
                && last.dst + last.dst_len == dst
                && last.src + last.src_len == src
            {
                last.dst_len += dst_len;
                last.src_len += src_len;
                return;
            }
        }
        self.segs.push(seg);
    }

    fn find(&self, d: usize) -> Option<&Seg> {
        let i = self.segs.partition_point(|s| s.dst <= d);
        i.checked_sub(1).map(|i| &self.segs[i])
    }

    /// Maps the start of a span.
    pub fn start(&self, d: usize) -> usize {
        if self.identity {
            return d;
        }
        match self.find(d) {
            None => 0,
            Some(s) => {
                let off = d - s.dst;
                if off >= s.dst_len {
                    s.src + s.src_len
                } else {
                    match s.ratio() {
                        Some(r) => s.src + off * r,
                        None => s.src,
                    }
                }
            }
        }
    }

    /// Maps the (exclusive) end of a span.
    pub fn end(&self, d: usize) -> usize {
        if self.identity || d == 0 {
            return if self.identity { d } else { self.start(0) };
        }
        match self.find(d - 1) {
            None => 0,
            Some(s) => {
                let off = d - s.dst;
                if off > s.dst_len {
                    s.src + s.src_len
                } else {
                    match s.ratio() {
                        Some(r) => s.src + off * r,
                        None => s.src + s.src_len,
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_maps_to_itself() {
        let m = OffsetMap::identity();
        assert_eq!((m.start(7), m.end(9)), (7, 9));
    }

    #[test]
    fn entities_map_as_a_whole() {
        // source: "a&mdash;b" ; derived: "a—b" (— is 3 bytes)
        let mut m = OffsetMap::new();
        m.push(0, 1, 0, 1);
        m.push(1, 3, 1, 7);
        m.push(4, 1, 8, 1);
        assert_eq!(m.start(0), 0);
        assert_eq!(m.start(1), 1);
        assert_eq!(m.end(4), 8);
        assert_eq!(m.start(4), 8);
        assert_eq!(m.end(5), 9);
    }

    #[test]
    fn utf16_ascii_runs_are_linear() {
        let mut m = OffsetMap::new();
        for i in 0..4 {
            m.push(i, 1, 2 + 2 * i, 2);
        }
        assert_eq!(m.segs.len(), 1);
        assert_eq!(m.start(2), 6);
        assert_eq!(m.end(4), 10);
    }
}
