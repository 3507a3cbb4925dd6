//! embarc rescues social-media embeds from link rot: it finds the posts articles
//! embed, captures them with their media into a content-addressed archive, and
//! renders them back as script-free cards, WARC and WACZ.
//!
//! This crate is the library; the `embarc` binary is a thin command line over
//! it. The stages are modules: [`detect`] (pure: bytes → embeds), [`input`] and
//! [`scan`] (reading articles), [`capture`] (one module per platform behind one
//! seam, and [`capture::pipeline`] to run many), [`post`] (the neutral post
//! every platform is read into), [`net`] (the one HTTP client), [`store`] (the
//! archive), [`render`], [`export`] and [`serve`] (the archive over HTTP).
//!
//! A build script that archives the posts an article embeds, then renders the
//! article with static cards in their place:
//!
//! ```no_run
//! use embarc::capture::pipeline::{Archiver, Plan, RunOptions};
//! use embarc::render::{PageLinks, Renderer};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let article = std::fs::read("content/story.html")?;
//! let archive = embarc::store::Archive::open_or_create("archive")?;
//!
//! // Capture every embedded post (already archived ones cost no request).
//! let mut plan = Plan::new();
//! plan.add_article("content/story.html", &embarc::detect(&article, embarc::Kind::Html));
//! let client = embarc::net::Client::new(embarc::capture::net_config())?;
//! let runtime = tokio::runtime::Runtime::new()?;
//! let run = runtime.block_on(
//!     Archiver::new(archive.clone(), client, RunOptions::default()).run(
//!         plan,
//!         std::future::pending(),
//!         |post| eprintln!("{} {}", post.url, post.outcome),
//!     ),
//! )?;
//! if run.any_failed() {
//!     eprintln!("some posts could not be captured; run again later");
//! }
//!
//! // Replace each embed by its card; publish the media beside the page.
//! let mut renderer = Renderer::new(&archive);
//! let page = renderer.article(&article, embarc::Kind::Html, "story", &PageLinks::default());
//! std::fs::create_dir_all("public")?;
//! std::fs::write("public/story.html", &page.html)?;
//! std::fs::write("public/embarc.css", embarc::render::STYLESHEET)?;
//! let used: Vec<_> = renderer.used_media().copied().collect();
//! let media_dir = std::path::Path::new("public/media");
//! embarc::render::publish::media(&archive, used, media_dir, embarc::render::publish::MediaMode::Copy)?;
//! # Ok(()) }
//! ```

#![deny(missing_docs)]

pub mod capture;
pub mod detect;
pub mod digest;
pub mod embed;
pub mod error;
pub mod export;
pub mod input;
pub mod net;
pub mod post;
pub mod providers;
pub mod render;
pub mod scan;
pub mod serve;
pub mod store;

pub use detect::detect;
pub use embed::{Embed, Form, Kind, Provider, Quote, Span};
pub use error::{Error, Result};
