//! capture: turning a post reference into a capture record. This first part
//! holds the pure pieces of X capture: the syndication token and the parser of
//! syndication answers with its media rules. (The fetcher and the network rules
//! come with the rest of the capture issue.)

pub mod syndication;
pub mod token;
