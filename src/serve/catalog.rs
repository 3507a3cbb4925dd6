//! The server's in-memory index of the archive: every post with the time,
//! outcome, source and record digest of each capture, and every article with
//! the posts it cited. Built from the refs and the capture records once at
//! start; a refresh lists the refs again and reads only the records it has
//! not seen (refs and records are immutable, so nothing read goes stale).
//!
//! Memory is bounded by the archive's size, not by traffic: about 200 bytes
//! per capture and per article citation, none of the posts' text, media or
//! exchanges (a card reads its post's records when it is made).

use crate::error::Result;
use crate::post::PostId;
use crate::store::record::{ArticleRecord, CaptureOutcome, PostCapture};
use crate::store::{Archive, Digest};
use std::collections::{BTreeMap, HashMap, HashSet};
use time::OffsetDateTime;

/// One capture of a post, as the browse pages and Memento list it.
#[derive(Debug, Clone)]
pub struct CaptureEntry {
    /// The capture record's object.
    pub digest: Digest,
    /// When it was made.
    pub at: OffsetDateTime,
    /// What it found.
    pub outcome: CaptureOutcome,
    /// Where the post came from (`syndication`, `api`…), when found.
    pub source: Option<String>,
}

impl CaptureEntry {
    /// Whether this capture observed the post (or its absence): every
    /// outcome but `failed`, which says only that the platform could not be
    /// asked. These are the post's mementos.
    pub fn observed(&self) -> bool {
        self.outcome != CaptureOutcome::Failed
    }
}

/// A post the archive holds.
#[derive(Debug, Clone)]
pub struct PostEntry {
    /// Which post.
    pub id: PostId,
    /// Its captures, oldest first.
    pub captures: Vec<CaptureEntry>,
    /// The author's handle, from the newest capture that knew it.
    pub handle: Option<String>,
    /// The author's display name, from the newest capture that knew it.
    pub author: Option<String>,
    /// The articles that cited it.
    pub articles: Vec<String>,
    /// When the capture that named the author was made.
    named_at: Option<OffsetDateTime>,
}

impl PostEntry {
    /// The newest capture.
    pub fn latest(&self) -> Option<&CaptureEntry> {
        self.captures.last()
    }

    /// The post's mementos (observing captures), oldest first.
    pub fn mementos(&self) -> impl Iterator<Item = &CaptureEntry> {
        self.captures.iter().filter(|c| c.observed())
    }
}

/// An article the archive recorded.
#[derive(Debug, Clone)]
pub struct ArticleEntry {
    /// Its name (path or URL as archived).
    pub name: String,
    /// When it was last archived.
    pub archived_at: OffsetDateTime,
    /// How many times it was archived.
    pub archivings: usize,
    /// The posts it cited, in the order of its records.
    pub posts: Vec<PostId>,
}

/// The index: posts newest capture first, articles by name.
#[derive(Debug, Clone, Default)]
pub struct Catalog {
    posts: HashMap<PostId, PostEntry>,
    /// Post keys, newest latest capture first.
    order: Vec<PostId>,
    articles: BTreeMap<String, ArticleEntry>,
    seen_articles: HashSet<Digest>,
    /// Records or refs that could not be read, one line each.
    pub problems: Vec<String>,
}

/// What a listing is filtered by (every field optional).
#[derive(Debug, Clone, Default)]
pub struct Filter {
    /// `twitter`, `bluesky`…
    pub provider: Option<String>,
    /// The author's handle, without `@`, any case.
    pub handle: Option<String>,
    /// Posts cited by this article.
    pub article: Option<String>,
    /// The newest capture's outcome (`ok`, `tombstone`…).
    pub outcome: Option<String>,
}

impl Catalog {
    /// Reads the archive: every post's captures and every article. `before`
    /// is the catalog of the previous read, whose records are not read again.
    pub fn load(archive: &Archive, before: Option<&Catalog>) -> Result<Catalog> {
        let (posts, broken) = archive.posts_checked()?;
        let mut problems: Vec<String> = broken
            .into_iter()
            .map(|(p, why)| format!("{}: {why}", p.label()))
            .collect();
        let known: HashSet<Digest> = before
            .map(|b| {
                b.posts
                    .values()
                    .flat_map(|p| p.captures.iter().map(|c| c.digest))
                    .collect()
            })
            .unwrap_or_default();
        let wanted: Vec<Digest> = posts
            .iter()
            .flat_map(|(_, ds)| ds.iter().copied())
            .filter(|d| !known.contains(d))
            .collect();
        let read = archive.read_json_each::<PostCapture>(&wanted);
        let mut fresh: HashMap<Digest, PostCapture> = HashMap::with_capacity(wanted.len());
        for (d, r) in wanted.iter().zip(read) {
            match r {
                Ok(c) => {
                    fresh.insert(*d, c);
                }
                Err(e) => problems.push(e.full_message()),
            }
        }
        let mut out: HashMap<PostId, PostEntry> = HashMap::with_capacity(posts.len());
        for (id, digests) in posts {
            let old = before.and_then(|b| b.posts.get(&id));
            let mut entry = old.cloned().unwrap_or_else(|| PostEntry {
                id: id.clone(),
                captures: Vec::new(),
                handle: None,
                author: None,
                articles: Vec::new(),
                named_at: None,
            });
            let mut newest_named: Option<(OffsetDateTime, Option<String>, String)> = None;
            for d in &digests {
                let Some(c) = fresh.remove(d) else { continue };
                if c.post != id {
                    problems.push(format!(
                        "{}: capture {} is of {}; run `embarc verify`",
                        id.label(),
                        d.hex(),
                        c.post.label()
                    ));
                    continue;
                }
                if let Some(p) = &c.normalized
                    && newest_named
                        .as_ref()
                        .is_none_or(|(at, _, _)| c.captured_at >= *at)
                {
                    newest_named = Some((
                        c.captured_at,
                        p.author.handle.clone(),
                        p.author.name.clone(),
                    ));
                }
                entry.captures.push(CaptureEntry {
                    digest: *d,
                    at: c.captured_at,
                    outcome: c.outcome,
                    source: c.source,
                });
            }
            if let Some((at, handle, name)) = newest_named
                && entry.named_at.is_none_or(|t| at >= t)
            {
                entry.named_at = Some(at);
                entry.handle = handle;
                entry.author = (!name.is_empty()).then_some(name);
            }
            entry
                .captures
                .sort_by(|a, b| a.at.cmp(&b.at).then(a.digest.cmp(&b.digest)));
            entry.captures.dedup_by(|a, b| a.digest == b.digest);
            if !entry.captures.is_empty() {
                out.insert(id, entry);
            }
        }

        // Articles: only records not read before.
        let mut articles = before.map(|b| b.articles.clone()).unwrap_or_default();
        let mut seen_articles = before.map(|b| b.seen_articles.clone()).unwrap_or_default();
        let new_articles: Vec<Digest> = archive
            .article_digests()?
            .into_iter()
            .map(|(_, d)| d)
            .filter(|d| !seen_articles.contains(d))
            .collect();
        for (d, r) in new_articles
            .iter()
            .zip(archive.read_json_each::<ArticleRecord>(&new_articles))
        {
            match r {
                Ok(a) => {
                    seen_articles.insert(*d);
                    let e = articles
                        .entry(a.article.clone())
                        .or_insert_with(|| ArticleEntry {
                            name: a.article.clone(),
                            archived_at: a.archived_at,
                            archivings: 0,
                            posts: Vec::new(),
                        });
                    e.archivings += 1;
                    e.archived_at = e.archived_at.max(a.archived_at);
                    for p in a.posts {
                        if !e.posts.contains(&p) {
                            e.posts.push(p);
                        }
                    }
                }
                Err(e) => problems.push(e.full_message()),
            }
        }
        for p in out.values_mut() {
            p.articles.clear();
        }
        for a in articles.values() {
            for p in &a.posts {
                if let Some(e) = out.get_mut(p)
                    && !e.articles.contains(&a.name)
                {
                    e.articles.push(a.name.clone());
                }
            }
        }
        let mut order: Vec<PostId> = out.keys().cloned().collect();
        order.sort_by(|a, b| {
            let (pa, pb) = (&out[a], &out[b]);
            let ta = pa.latest().map(|c| c.at);
            let tb = pb.latest().map(|c| c.at);
            tb.cmp(&ta).then_with(|| a.label().cmp(&b.label()))
        });
        Ok(Catalog {
            posts: out,
            order,
            articles,
            seen_articles,
            problems,
        })
    }

    /// How many posts.
    pub fn len(&self) -> usize {
        self.order.len()
    }

    /// Whether the archive holds no post.
    pub fn is_empty(&self) -> bool {
        self.order.is_empty()
    }

    /// How many captures in all.
    pub fn captures(&self) -> usize {
        self.posts.values().map(|p| p.captures.len()).sum()
    }

    /// One post.
    pub fn post(&self, id: &PostId) -> Option<&PostEntry> {
        self.posts.get(id)
    }

    /// The posts matching `filter`, newest capture first.
    pub fn select<'a>(&'a self, filter: &'a Filter) -> impl Iterator<Item = &'a PostEntry> + 'a {
        let handle = filter
            .handle
            .as_deref()
            .map(|h| h.trim_start_matches('@').to_lowercase());
        let article = filter.article.as_deref().and_then(|a| self.articles.get(a));
        let article_missing = filter.article.is_some() && article.is_none();
        self.order.iter().filter_map(move |k| {
            let p = self.posts.get(k)?;
            if article_missing {
                return None;
            }
            if let Some(pr) = &filter.provider
                && p.id.provider.as_str() != pr
            {
                return None;
            }
            if let Some(h) = &handle
                && p.handle.as_deref().map(str::to_lowercase).as_deref() != Some(h.as_str())
            {
                return None;
            }
            if let Some(o) = &filter.outcome
                && p.latest().map(|c| c.outcome.as_str()) != Some(o.as_str())
            {
                return None;
            }
            if let Some(a) = article
                && !a.posts.contains(&p.id)
            {
                return None;
            }
            Some(p)
        })
    }

    /// Every article, by name.
    pub fn articles(&self) -> impl ExactSizeIterator<Item = &ArticleEntry> {
        self.articles.values()
    }

    /// One article.
    pub fn article(&self, name: &str) -> Option<&ArticleEntry> {
        self.articles.get(name)
    }

    /// The providers that have posts, by name.
    pub fn providers(&self) -> Vec<&'static str> {
        let mut v: Vec<&'static str> = self
            .posts
            .keys()
            .map(|k| k.provider.as_str())
            .collect::<HashSet<_>>()
            .into_iter()
            .collect();
        v.sort_unstable();
        v
    }
}
