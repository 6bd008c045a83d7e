//! Media files the host reads and sends for the connector: a video goes from its URL into the
//! platform's upload request without entering the component's memory, whatever its size.
//!
//! ```text
//! let video = media::Source::open(&post.media[0].url)?;
//! let size = video.require_size(post.media[0].size_bytes)?;
//! for (offset, length) in media::chunks(size, 8 << 20) {
//!     let put = http::Request::put(&upload_url).header("content-type", "video/mp4");
//!     video.send_range(offset, length, put)?.error_for_status()?;
//! }
//! ```

use crate::bindings::postd::connector::media as wit;
use crate::{Error, Result, http};

pub use wit::TransferError;

/// A media file at a URL, opened by the host (one request learns its size and type).
pub struct Source {
    inner: wit::Source,
    url: String,
}

impl Source {
    /// Opens the file at `url`.
    pub fn open(url: &str) -> Result<Source> {
        Ok(Source {
            inner: wit::Source::open(url)?,
            url: url.to_string(),
        })
    }

    /// Its size in bytes, when the media server said.
    pub fn size(&self) -> Option<u64> {
        self.inner.size()
    }

    /// Its MIME type, when the media server said.
    pub fn mime_type(&self) -> Option<String> {
        self.inner.mime_type()
    }

    /// Its size: the media server's word, else `known` (the post's), else an error naming the
    /// file.
    pub fn require_size(&self, known: Option<u64>) -> Result<u64> {
        self.size().or(known).ok_or_else(|| {
            Error::invalid_input(format!(
                "the media server of {} does not say the file's size",
                self.url
            ))
        })
    }

    /// Sends bytes `[offset, offset + length)` as the body of `upload` (which must have none)
    /// and answers the upload's response, whatever its status.
    pub fn send_range(
        &self,
        offset: u64,
        length: u64,
        upload: http::Request,
    ) -> Result<http::Response> {
        Ok(self
            .inner
            .send_range(offset, length, upload.as_wit())?
            .into())
    }
}

/// `(offset, length)` of each piece of a `size`-byte file cut into pieces of `piece` bytes (the
/// last one shorter).
pub fn chunks(size: u64, piece: u64) -> impl Iterator<Item = (u64, u64)> {
    let piece = piece.max(1);
    (0..size.div_ceil(piece)).map(move |i| {
        let offset = i * piece;
        (offset, piece.min(size - offset))
    })
}

impl From<TransferError> for Error {
    fn from(error: TransferError) -> Self {
        match error {
            TransferError::Source(e) => match Error::from(e) {
                Error::Transient(why) => Error::transient(format!("reading the media file: {why}")),
                other => other,
            },
            TransferError::SourceStatus(status) if status == 429 || status >= 500 => {
                Error::transient(format!("the media server answered HTTP {status}"))
            }
            TransferError::SourceStatus(status) => Error::invalid_input(format!(
                "the media file cannot be read: the media server answered HTTP {status}"
            )),
            TransferError::SourceShort(sent) => Error::transient(format!(
                "the media server sent {sent} bytes, fewer than asked for"
            )),
            TransferError::Upload(e) => Error::from(e),
            TransferError::BadRange(why) => Error::invalid_input(format!("media range: {why}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::chunks;

    #[test]
    fn chunks_cover_the_file_once_with_a_shorter_last_piece() {
        let pieces: Vec<_> = chunks(10, 4).collect();
        assert_eq!(pieces, vec![(0, 4), (4, 4), (8, 2)]);
        assert_eq!(chunks(8, 4).count(), 2);
        assert_eq!(chunks(0, 4).count(), 0);
    }
}
