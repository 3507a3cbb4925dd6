//! A byte-level HTML tokenizer that keeps exact offsets.
//!
//! It follows the HTML standard's tokenizer where that matters for finding embeds
//! (comments, raw-text elements, attribute quoting, EOF inside constructs) and
//! nowhere else: no tree is built, so deep nesting costs nothing, and every step is
//! linear in the input. It works on any ASCII-compatible bytes, valid UTF-8 or not.

use std::ops::Range;

/// One attribute, as ranges into the input.
#[derive(Debug, Clone)]
pub struct Attr {
    /// The attribute name as written.
    pub name: Range<usize>,
    /// The raw value (entities not decoded); empty for a bare attribute.
    pub value: Range<usize>,
}

/// What the tokenizer found next.
#[derive(Debug, Clone)]
pub enum Token {
    /// A start tag; attributes are in [`Tokenizer::attrs`].
    Start {
        /// The tag name as written.
        name: Range<usize>,
        /// The whole tag, `<` to `>`.
        span: Range<usize>,
        /// Written as `<x/>`.
        self_closing: bool,
    },
    /// An end tag.
    End {
        /// The tag name as written.
        name: Range<usize>,
        /// The whole tag.
        span: Range<usize>,
    },
    /// Character data between tags (entities not decoded).
    Text(Range<usize>),
    /// A comment; `body` is between `<!--` and `-->`.
    Comment {
        /// The text inside the comment.
        body: Range<usize>,
        /// The whole comment.
        span: Range<usize>,
    },
}

/// Elements whose content is raw text, skipped up to their end tag.
const RAW_TEXT: &[&[u8]] = &[
    b"script",
    b"style",
    b"textarea",
    b"title",
    b"xmp",
    b"iframe",
    b"noembed",
    b"noframes",
];

/// The tokenizer. Call [`Tokenizer::next_token`] until it returns `None`.
pub struct Tokenizer<'a> {
    src: &'a [u8],
    pos: usize,
    attrs: Vec<Attr>,
    /// Set after a raw-text start tag: skip to its end tag.
    raw_until: Option<&'static [u8]>,
    /// Markdown autolinks (`<https://…>`) are text, not tags.
    markdown: bool,
}

impl<'a> Tokenizer<'a> {
    /// A tokenizer over `src`. With `markdown`, `<scheme:…>` autolinks stay text.
    pub fn new(src: &'a [u8], markdown: bool) -> Self {
        Tokenizer {
            src,
            pos: 0,
            attrs: Vec::new(),
            raw_until: None,
            markdown,
        }
    }

    /// The attributes of the last start tag returned.
    pub fn attrs(&self) -> &[Attr] {
        &self.attrs
    }

    /// The next token, or `None` at the end of input.
    pub fn next_token(&mut self) -> Option<Token> {
        let src = self.src;
        if let Some(name) = self.raw_until.take() {
            return self.skip_raw_text(name);
        }
        if self.pos >= src.len() {
            return None;
        }
        let start = self.pos;
        if src[start] != b'<' {
            let end = memchr::memchr(b'<', &src[start..]).map_or(src.len(), |i| start + i);
            self.pos = end;
            return Some(Token::Text(start..end));
        }
        let next = src.get(start + 1).copied();
        match next {
            Some(b'!') => {
                if src[start..].starts_with(b"<!--") {
                    return Some(self.comment(start));
                }
                // Doctype, CDATA and other markup declarations: skip to '>'.
                let end = memchr::memchr(b'>', &src[start..]).map_or(src.len(), |i| start + i + 1);
                self.pos = end;
                Some(Token::Comment {
                    body: (start + 2).min(end)..end.saturating_sub(1).max(start + 2).min(end),
                    span: start..end,
                })
            }
            Some(b'?') => {
                let end = memchr::memchr(b'>', &src[start..]).map_or(src.len(), |i| start + i + 1);
                self.pos = end;
                Some(Token::Comment {
                    body: start..start,
                    span: start..end,
                })
            }
            Some(b'/') if src.get(start + 2).is_some_and(u8::is_ascii_alphabetic) => {
                Some(self.end_tag(start))
            }
            Some(c) if c.is_ascii_alphabetic() => {
                // Markdown autolinks and Hugo shortcodes (`{{<tweet …>}}`) are text.
                if self.markdown && (self.is_autolink(start) || src[..start].ends_with(b"{{")) {
                    return Some(self.text_from(start));
                }
                match self.start_tag(start) {
                    Some(t) => Some(t),
                    None => {
                        // EOF inside a tag: the standard drops it.
                        self.pos = src.len();
                        None
                    }
                }
            }
            _ => Some(self.text_from(start)),
        }
    }

    /// Text starting with a `<` that opens nothing.
    fn text_from(&mut self, start: usize) -> Token {
        let end =
            memchr::memchr(b'<', &self.src[start + 1..]).map_or(self.src.len(), |i| start + 1 + i);
        self.pos = end;
        Token::Text(start..end)
    }

    fn is_autolink(&self, start: usize) -> bool {
        let rest = &self.src[start + 1..];
        let scheme_len = rest
            .iter()
            .take(33)
            .position(|&b| !(b.is_ascii_alphanumeric() || b == b'+' || b == b'.' || b == b'-'))
            .unwrap_or(0);
        scheme_len >= 2 && rest.get(scheme_len) == Some(&b':')
    }

    fn comment(&mut self, start: usize) -> Token {
        let src = self.src;
        let body_start = start + 4;
        // `<!-->` and `<!--->` are complete (empty) comments.
        for abrupt in [&b">"[..], &b"->"[..]] {
            if src[body_start..].starts_with(abrupt) {
                let end = body_start + abrupt.len();
                self.pos = end;
                return Token::Comment {
                    body: body_start..body_start,
                    span: start..end,
                };
            }
        }
        match memchr::memmem::find(&src[body_start..], b"-->") {
            Some(i) => {
                let end = body_start + i + 3;
                self.pos = end;
                Token::Comment {
                    body: body_start..body_start + i,
                    span: start..end,
                }
            }
            None => {
                // Unterminated: the comment runs to the end, as in browsers.
                self.pos = src.len();
                Token::Comment {
                    body: body_start..src.len(),
                    span: start..src.len(),
                }
            }
        }
    }

    fn tag_name_end(&self, from: usize) -> usize {
        self.src[from..]
            .iter()
            .position(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
            .map_or(self.src.len(), |i| from + i)
    }

    fn end_tag(&mut self, start: usize) -> Token {
        let name_start = start + 2;
        let name_end = self.tag_name_end(name_start);
        let end = memchr::memchr(b'>', &self.src[name_end..])
            .map_or(self.src.len(), |i| name_end + i + 1);
        self.pos = end;
        Token::End {
            name: name_start..name_end,
            span: start..end,
        }
    }

    fn start_tag(&mut self, start: usize) -> Option<Token> {
        let src = self.src;
        let name_start = start + 1;
        let name_end = self.tag_name_end(name_start);
        self.attrs.clear();
        let mut i = name_end;
        let mut self_closing = false;
        loop {
            while i < src.len() && (src[i].is_ascii_whitespace() || src[i] == b'/') {
                self_closing = src[i] == b'/';
                i += 1;
            }
            if i >= src.len() {
                return None;
            }
            if src[i] == b'>' {
                i += 1;
                break;
            }
            self_closing = false;
            let an_start = i;
            // The first character may be '=' (a parse error the standard keeps).
            i += 1;
            while i < src.len()
                && !matches!(
                    src[i],
                    b'\t' | b'\n' | b'\x0c' | b'\r' | b' ' | b'/' | b'>' | b'='
                )
            {
                i += 1;
            }
            let an_end = i;
            while i < src.len() && src[i].is_ascii_whitespace() {
                i += 1;
            }
            let mut value = i..i;
            if i < src.len() && src[i] == b'=' {
                i += 1;
                while i < src.len() && src[i].is_ascii_whitespace() {
                    i += 1;
                }
                if i >= src.len() {
                    return None;
                }
                match src[i] {
                    q @ (b'"' | b'\'') => {
                        let vs = i + 1;
                        let ve = memchr::memchr(q, &src[vs..]).map(|e| vs + e)?;
                        value = vs..ve;
                        i = ve + 1;
                    }
                    _ => {
                        let vs = i;
                        while i < src.len() && !src[i].is_ascii_whitespace() && src[i] != b'>' {
                            i += 1;
                        }
                        value = vs..i;
                    }
                }
            }
            // Cap attributes per tag: a hostile page may carry millions.
            if self.attrs.len() < 256 {
                self.attrs.push(Attr {
                    name: an_start..an_end,
                    value,
                });
            }
        }
        self.pos = i;
        let name = &src[name_start..name_end];
        if !self_closing && let Some(raw) = RAW_TEXT.iter().find(|r| name.eq_ignore_ascii_case(r)) {
            self.raw_until = Some(raw);
        }
        Some(Token::Start {
            name: name_start..name_end,
            span: start..i,
            self_closing,
        })
    }

    /// Skips raw text up to `</name`, returning the end tag (or `None` at EOF).
    fn skip_raw_text(&mut self, name: &'static [u8]) -> Option<Token> {
        let src = self.src;
        let mut from = self.pos;
        while let Some(i) = memchr::memmem::find(&src[from..], b"</") {
            let at = from + i;
            let n_start = at + 2;
            let n_end = n_start + name.len();
            if n_end <= src.len()
                && src[n_start..n_end].eq_ignore_ascii_case(name)
                && src
                    .get(n_end)
                    .is_none_or(|&b| b.is_ascii_whitespace() || b == b'/' || b == b'>')
            {
                self.pos = at;
                return Some(self.end_tag(at));
            }
            from = at + 2;
        }
        self.pos = src.len();
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(src: &str) -> Vec<String> {
        let mut t = Tokenizer::new(src.as_bytes(), false);
        let mut out = Vec::new();
        while let Some(tok) = t.next_token() {
            out.push(match tok {
                Token::Start { name, .. } => {
                    let attrs: Vec<String> = t
                        .attrs()
                        .iter()
                        .map(|a| format!("{}={}", &src[a.name.clone()], &src[a.value.clone()]))
                        .collect();
                    format!("<{} {}>", &src[name], attrs.join(" "))
                }
                Token::End { name, .. } => format!("</{}>", &src[name]),
                Token::Text(r) => format!("T({})", &src[r]),
                Token::Comment { body, .. } => format!("C({})", &src[body]),
            });
        }
        out
    }

    #[test]
    fn attributes_in_all_quotings() {
        assert_eq!(
            tokens(r#"<a href="x" class='y z' data-id=5 hidden>t</a>"#),
            vec!["<a href=x class=y z data-id=5 hidden=>", "T(t)", "</a>"]
        );
    }

    #[test]
    fn scripts_and_comments_are_opaque() {
        assert_eq!(
            tokens("<script>if (a<b) x='</div>'</script><!-- <a href=x> -->z"),
            vec!["<script >", "</script>", "C( <a href=x> )", "T(z)"]
        );
    }

    #[test]
    fn unterminated_constructs_end_at_eof() {
        assert_eq!(
            tokens("a<!-- never closed <p>"),
            vec!["T(a)", "C( never closed <p>)"]
        );
        assert_eq!(tokens("<script>while(1){}"), vec!["<script >"]);
        assert_eq!(tokens("x<a href=\"never"), vec!["T(x)"]);
    }

    #[test]
    fn stray_angle_brackets_are_text() {
        assert_eq!(tokens("1 < 2 <3"), vec!["T(1 )", "T(< 2 )", "T(<3)"]);
    }

    #[test]
    fn markdown_autolinks_are_text() {
        let src = "<https://x.com/a/status/1>";
        let mut t = Tokenizer::new(src.as_bytes(), true);
        assert!(matches!(t.next_token(), Some(Token::Text(_))));
    }
}
