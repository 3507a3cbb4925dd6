//! Raw findings before they are resolved into [`Embed`](crate::Embed)s: offsets
//! are still in decoded-document coordinates and a container may still lack its
//! post (a blockquote takes the id of its last status link).

use crate::embed::{Form, Provider, Quote};
use crate::providers::PostUrl;

/// One finding.
#[derive(Debug, Clone)]
pub struct Hit {
    /// The provider.
    pub provider: Provider,
    /// The form it is written in.
    pub form: Form,
    /// Start in document coordinates.
    pub start: usize,
    /// End in document coordinates.
    pub end: usize,
    /// The post, when known yet (boxed, as the quote: a finding stays small).
    pub post: Option<Box<PostUrl>>,
    /// The short link, for short-link-only findings.
    pub short_link: Option<String>,
    /// The article's own quote of the post (boxed: most findings have none,
    /// and a page may hold a great many findings).
    pub quote: Option<Box<Quote>>,
    /// A container (blockquote, figure, wp block…) that may take its post from
    /// findings inside it.
    pub container: bool,
    /// A container that yields to embed elements inside it (a rendered WordPress
    /// figure around a blockquote or iframe).
    pub weak: bool,
    /// Not an embed itself, only evidence that a post is cited here (an intent
    /// link carrying a tweet id); removed once short links are judged.
    pub reference: bool,
}

impl Hit {
    /// A finding that already knows its post.
    pub fn post(provider: Provider, form: Form, start: usize, end: usize, post: PostUrl) -> Self {
        Hit {
            provider,
            form,
            start,
            end,
            post: Some(Box::new(post)),
            short_link: None,
            quote: None,
            container: false,
            weak: false,
            reference: false,
        }
    }

    /// A short link.
    pub fn short_link(start: usize, end: usize, link: String) -> Self {
        Hit {
            provider: Provider::Twitter,
            form: Form::ShortLink,
            start,
            end,
            post: None,
            short_link: Some(link),
            quote: None,
            container: false,
            weak: false,
            reference: false,
        }
    }

    /// A container whose post may be found inside it.
    pub fn container(
        provider: Provider,
        form: Form,
        start: usize,
        end: usize,
        post: Option<PostUrl>,
    ) -> Self {
        Hit {
            provider,
            form,
            start,
            end,
            post: post.map(Box::new),
            short_link: None,
            quote: None,
            container: true,
            weak: false,
            reference: false,
        }
    }
}
