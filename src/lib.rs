//! embarc rescues social-media embeds from link rot: it finds the posts articles
//! embed, and (in later stages) captures, archives and re-renders them.
//!
//! This crate is the library; the `embarc` binary is a thin command line over it.
//! The stages are modules: [`detect`] (pure: bytes → embeds), [`input`] (reading
//! articles from files, folders and stdin) and [`scan`] (running detect over many
//! inputs in parallel).

#![deny(missing_docs)]

pub mod capture;
pub mod detect;
pub mod digest;
pub mod embed;
pub mod error;
pub mod export;
pub mod input;
pub mod net;
pub mod providers;
pub mod render;
pub mod scan;
pub mod store;

pub use detect::detect;
pub use embed::{Embed, Form, Kind, Provider, Quote, Span};
pub use error::{Error, Result};
