//! Offset maps: how a byte position in derived text (a decoded document, or the
//! visible-text stream of an HTML page) maps back to the article's original bytes.
//!
//! Spans must point into the file as read from disk, whatever decoding happened.

/// One piece of the mapping: 24 bytes, as a page may need one per text run
/// (lengths over 4 GiB are split into several pieces).
#[derive(Debug, Clone, Copy)]
struct Seg {
    /// Start in the derived text.
    dst: usize,
    /// Start in the source.
    src: usize,
    /// Length in the derived text.
    dst_len: u32,
    /// Length in the source.
    src_len: u32,
}

impl Seg {
    /// Linear segments map byte for byte (ratio `src_len / dst_len` of 1 or 2);
    /// others (an entity, a multi-byte character) map as a whole.
    fn ratio(&self) -> Option<usize> {
        if self.dst_len == 0 {
            None
        } else if self.src_len == self.dst_len {
            Some(1)
        } else if u64::from(self.src_len) == 2 * u64::from(self.dst_len) {
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
        const MAX: usize = u32::MAX as usize;
        if dst_len > MAX || src_len > MAX {
            // A linear run too long for one piece: several pieces.
            let ratio = if src_len == dst_len { 1 } else { 2 };
            if src_len == ratio * dst_len {
                let step = MAX / 2;
                let mut done = 0;
                while done < dst_len {
                    let n = step.min(dst_len - done);
                    self.push(dst + done, n, src + ratio * done, ratio * n);
                    done += n;
                }
                return;
            }
        }
        let (dst_len, src_len) = (dst_len.min(MAX) as u32, src_len.min(MAX) as u32);
        let seg = Seg {
            dst,
            dst_len,
            src,
            src_len,
        };
        if let Some(last) = self.segs.last_mut() {
            let fits = |a: u32, b: u32| a.checked_add(b).is_some();
            // Synthetic text (line breaks) at one source offset: one segment.
            if src_len == 0
                && last.src_len == 0
                && last.src == src
                && last.dst + last.dst_len as usize == dst
                && fits(last.dst_len, dst_len)
            {
                last.dst_len += dst_len;
                return;
            }
            // Merge runs that continue each other linearly with the same ratio.
            if let (Some(a), Some(b)) = (last.ratio(), seg.ratio())
                && a == b
                && last.dst + last.dst_len as usize == dst
                && last.src + last.src_len as usize == src
                && fits(last.dst_len, dst_len)
                && fits(last.src_len, src_len)
            {
                last.dst_len += dst_len;
                last.src_len += src_len;
                return;
            }
        }
        self.segs.push(seg);
    }

    /// Forgets the pieces before the one holding derived offset `d`: offsets
    /// from `d` on still map as before.
    pub fn forget_before(&mut self, d: usize) {
        let holding = self.segs.partition_point(|s| s.dst <= d);
        self.segs.drain(..holding.saturating_sub(1));
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
                let (dst_len, src_len) = (s.dst_len as usize, s.src_len as usize);
                if off >= dst_len {
                    s.src + src_len
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
                let (dst_len, src_len) = (s.dst_len as usize, s.src_len as usize);
                if off > dst_len {
                    s.src + src_len
                } else {
                    match s.ratio() {
                        Some(r) => s.src + off * r,
                        None => s.src + src_len,
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
    fn runs_over_4_gib_are_split_and_still_map() {
        let big = 5usize << 30;
        let mut m = OffsetMap::new();
        m.push(0, 3, 0, 7);
        m.push(3, big, 7, big);
        m.push(3 + big, 1, 7 + big, 2);
        assert_eq!(m.start(3 + (4usize << 30) + 5), 7 + (4usize << 30) + 5);
        assert_eq!(m.end(3 + big), 7 + big);
        assert_eq!(m.end(4 + big), 9 + big);
        let mut utf16 = OffsetMap::new();
        utf16.push(0, big, 2, 2 * big);
        assert_eq!(utf16.start(big - 1), 2 + 2 * (big - 1));
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
