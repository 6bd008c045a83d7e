//! Local imitations of the Meta, LinkedIn, TikTok, Google Business Profile and Mailchimp APIs.
//!
//! Not built yet: this crate reserves its place in the workspace so that the layout of
//! `ARCHITECTURE.md` holds from the start. The platform sandbox work fills it in.
#![deny(missing_docs)]
