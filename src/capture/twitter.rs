//! Capturing one X post: the syndication answer (with the exact token), oEmbed
//! as a second source, then every media file at the quality to keep (photos
//! `name=orig` with fallbacks, the best MP4 and its poster, the avatar at full
//! size, the card image, the quoted post's media). Every response is stored as
//! received; the outcome (ok, tombstone, not found, protected, failed) is
//! itself recorded.

use super::syndication::{self, Answer, Tweet};
use super::token::syndication_token;
use crate::embed::Quote;
use crate::net::{Client, Fetched};
use crate::store::record::{CaptureOutcome, CaptureRecord, Media, NormalizedPost, PostKey};
use crate::store::{Archive, Digest};
use time::OffsetDateTime;

/// The `features` parameter react-tweet sends (providers.md §3a).
const FEATURES: &str = "tfw_timeline_list:;tfw_follower_count_sunset:true;tfw_tweet_edit_backend:on;tfw_refsrc_session:on;tfw_fosnr_soft_interventions_enabled:on;tfw_show_birdwatch_pivots_enabled:on;tfw_show_business_verified_badge:on;tfw_duplicate_scribes_to_settings:on;tfw_use_profile_image_shape_enabled:on;tfw_show_blue_verified_badge:on;tfw_legacy_timeline_sunset:true;tfw_show_gov_verified_badge:on;tfw_show_business_affiliate_badge:on;tfw_tweet_edit_frontend:on";

/// Endpoints, as fields so tests and mirrors can see exactly what is asked.
#[derive(Debug, Clone)]
pub struct Endpoints {
    /// `https://cdn.syndication.twimg.com/tweet-result`.
    pub syndication: String,
    /// `https://publish.twitter.com/oembed`.
    pub oembed: String,
}

impl Default for Endpoints {
    fn default() -> Self {
        Endpoints {
            syndication: "https://cdn.syndication.twimg.com/tweet-result".into(),
            oembed: "https://publish.twitter.com/oembed".into(),
        }
    }
}

/// The syndication URL for a tweet id.
pub fn syndication_url(endpoints: &Endpoints, id: u64) -> String {
    let features: String = url::form_urlencoded::byte_serialize(FEATURES.as_bytes()).collect();
    format!(
        "{}?id={id}&lang=en&features={features}&token={}",
        endpoints.syndication,
        syndication_token(id)
    )
}

/// Largest JSON answer parsed (decoded).
const MAX_JSON: u64 = 8 * 1024 * 1024;

/// Captures `post` now and stores the record; returns it with its digest.
pub async fn capture(
    client: &Client,
    archive: &Archive,
    endpoints: &Endpoints,
    post: &PostKey,
    quote: Option<Quote>,
    now: OffsetDateTime,
) -> Result<(Digest, CaptureRecord), crate::Error> {
    let mut record = CaptureRecord::new(post.clone(), now, CaptureOutcome::Failed);
    record.article_quote = quote;
    let Ok(id) = post.id.parse::<u64>() else {
        record.error = Some(format!("{} is not a tweet id", post.id));
        let d = archive.put_capture(&record)?;
        return Ok((d, record));
    };
    let syn = client
        .get_small(&syndication_url(endpoints, id), archive, MAX_JSON)
        .await;
    let answer = match &syn {
        Ok(f) => {
            record.exchanges.push(f.exchange.clone());
            judge_syndication(f)
        }
        Err(e) => Judged::Failed(e.to_string()),
    };
    let oembed_url = format!(
        "{}?url={}&omit_script=1&dnt=true",
        endpoints.oembed,
        url::form_urlencoded::byte_serialize(
            format!("https://twitter.com/i/status/{id}").as_bytes()
        )
        .collect::<String>()
    );
    let oembed = client.get_small(&oembed_url, archive, MAX_JSON).await;
    let oembed_status = match &oembed {
        Ok(f) => {
            record.exchanges.push(f.exchange.clone());
            Some(f.status())
        }
        Err(_) => None,
    };
    match answer {
        Judged::Tweet(tweet) => {
            record.outcome = CaptureOutcome::Ok;
            store_media(client, archive, &tweet, "", &mut record).await;
            record.normalized = Some(normalized(&tweet));
            if let Some(quoted) = &tweet.quoted {
                quoted_capture(archive, &record, quoted, now)?;
            }
        }
        Judged::Tombstone(text) => {
            record.outcome = CaptureOutcome::Tombstone;
            record.error = text;
        }
        Judged::NotFound => {
            record.outcome = if oembed_status == Some(403) {
                CaptureOutcome::Protected
            } else {
                CaptureOutcome::NotFound
            };
        }
        Judged::Empty => {
            // An empty answer (a bad token, or nothing there): oEmbed decides.
            record.outcome = match oembed_status {
                Some(403) => CaptureOutcome::Protected,
                Some(404) => CaptureOutcome::NotFound,
                Some(200) => match oembed.as_ref().ok().and_then(from_oembed) {
                    Some(n) => {
                        record.normalized = Some(n);
                        CaptureOutcome::Ok
                    }
                    None => {
                        record.error = Some(
                            "syndication answered an empty object and oEmbed could not be read"
                                .into(),
                        );
                        CaptureOutcome::Failed
                    }
                },
                other => {
                    record.error = Some(format!(
                        "syndication answered an empty object and oEmbed {}",
                        other.map_or("did not answer".to_string(), |s| format!(
                            "answered HTTP {s}"
                        ))
                    ));
                    CaptureOutcome::Failed
                }
            };
        }
        Judged::Failed(reason) => {
            record.error = Some(reason);
        }
    }
    let d = archive.put_capture(&record)?;
    Ok((d, record))
}

/// The quoted post gets a capture of its own, from the same answer: its text,
/// author and media (stored with the quoting post, roles without `quoted_`),
/// so `show` and render find it by its own id.
fn quoted_capture(
    archive: &Archive,
    parent: &CaptureRecord,
    quoted: &Tweet,
    now: OffsetDateTime,
) -> Result<(), crate::Error> {
    let key = PostKey {
        provider: "twitter".into(),
        id: quoted.id.clone(),
        url: format!(
            "https://twitter.com/{}/status/{}",
            quoted.author.handle, quoted.id
        ),
    };
    let mut record = CaptureRecord::new(key, now, CaptureOutcome::Ok);
    record.normalized = Some(normalized(quoted));
    // The answer it came from (the syndication exchange of the quoting post).
    record.exchanges = parent.exchanges.iter().take(1).cloned().collect();
    record.media = parent
        .media
        .iter()
        .filter_map(|m| {
            let role = m.role.strip_prefix("quoted_")?;
            Some(Media {
                role: role.to_string(),
                ..m.clone()
            })
        })
        .collect();
    archive.put_capture(&record)?;
    Ok(())
}

enum Judged {
    Tweet(Box<Tweet>),
    Tombstone(Option<String>),
    NotFound,
    Empty,
    Failed(String),
}

fn judge_syndication(f: &Fetched) -> Judged {
    match f.status() {
        200..=299 => {}
        404 => return Judged::NotFound,
        s => return Judged::Failed(format!("syndication answered HTTP {s}")),
    }
    let is_json = f
        .header("content-type")
        .is_some_and(|c| c.to_ascii_lowercase().contains("json"));
    let Some(body) = f.decoded_body(MAX_JSON) else {
        return Judged::Failed("syndication body too large or badly compressed".into());
    };
    if !is_json {
        return Judged::Failed("syndication did not answer JSON".into());
    }
    match syndication::parse(&body) {
        Ok(Answer::Tweet(t)) => Judged::Tweet(t),
        Ok(Answer::Tombstone(text)) => Judged::Tombstone(text),
        Ok(Answer::Empty) => Judged::Empty,
        Err(e) => Judged::Failed(e.to_string()),
    }
}

fn normalized(t: &Tweet) -> NormalizedPost {
    let mut extra = serde_json::Map::new();
    if let Ok(v) = serde_json::to_value(t) {
        extra.insert("tweet".into(), v);
    }
    NormalizedPost {
        author_name: Some(t.author.name.clone()),
        author_handle: Some(t.author.handle.clone()),
        text: Some(t.text.clone()),
        created_at: t.created_at.clone(),
        lang: t.lang.clone(),
        extra,
    }
}

/// Author and text from an oEmbed answer (its blockquote).
fn from_oembed(f: &Fetched) -> Option<NormalizedPost> {
    let body = f.decoded_body(MAX_JSON)?;
    let v: serde_json::Value = serde_json::from_slice(&body).ok()?;
    let html = v.get("html")?.as_str()?;
    let quote = crate::detect::quote_of_blockquote(html.as_bytes());
    let handle = v
        .get("author_url")
        .and_then(|u| u.as_str())
        .and_then(|u| u.rsplit('/').next())
        .map(str::to_string);
    Some(NormalizedPost {
        author_name: v
            .get("author_name")
            .and_then(|a| a.as_str())
            .map(str::to_string),
        author_handle: handle,
        text: quote.and_then(|q| q.text),
        ..NormalizedPost::default()
    })
}

/// Fetches every media file of a tweet (and of its quoted post), each from its
/// best URL with fallbacks; records what was stored and what could not be.
async fn store_media(
    client: &Client,
    archive: &Archive,
    t: &Tweet,
    prefix: &str,
    record: &mut CaptureRecord,
) {
    let mut wanted: Vec<(String, String, Vec<String>)> = Vec::new();
    if let Some(avatar) = &t.author.avatar {
        wanted.push((
            format!("{prefix}avatar"),
            avatar.clone(),
            t.author.avatar_fallbacks.clone(),
        ));
    }
    for m in &t.media {
        let role = match m.kind {
            syndication::MediaKind::Photo => "photo",
            syndication::MediaKind::Video => "video",
            syndication::MediaKind::Gif => "gif",
        };
        wanted.push((
            format!("{prefix}{role}"),
            m.url.clone(),
            m.fallbacks.clone(),
        ));
        if let Some(p) = &m.poster {
            wanted.push((format!("{prefix}poster"), p.clone(), Vec::new()));
        }
    }
    if let Some(image) = t.card.as_ref().and_then(|c| c.image.clone()) {
        wanted.push((format!("{prefix}card_image"), image, Vec::new()));
    }
    let mut missing = Vec::new();
    for (role, url, fallbacks) in wanted {
        let mut stored = false;
        for candidate in std::iter::once(url.clone()).chain(fallbacks) {
            match client.get(&candidate, archive, 0).await {
                Ok(f) => {
                    record.exchanges.push(f.exchange.clone());
                    if (200..300).contains(&f.status())
                        && let Some(digest) = f.exchange.body
                    {
                        record.media.push(Media {
                            role: role.clone(),
                            url: candidate.clone(),
                            digest,
                            bytes: f.exchange.body_bytes,
                            content_type: f.header("content-type").map(str::to_string),
                        });
                        stored = true;
                        break;
                    }
                }
                Err(_) => continue,
            }
        }
        if !stored {
            missing.push(format!("{role} {url}"));
        }
    }
    if let Some(q) = &t.quoted {
        Box::pin(store_media(client, archive, q, "quoted_", record)).await;
    }
    if !missing.is_empty() {
        let note = format!("media not stored: {}", missing.join(", "));
        record.error = Some(match record.error.take() {
            Some(e) => format!("{e}; {note}"),
            None => note,
        });
    }
}
