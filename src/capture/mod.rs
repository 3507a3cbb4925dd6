//! capture: turning a post reference into a capture record. This first part
//! holds the pure pieces of X capture: the syndication token. (The fetcher, the
//! parser of answers and the media rules come with the capture issue.)

pub mod token;
