//! TikTok's FILE_UPLOAD chunk arithmetic, exactly as documented: chunks of 5 to 64 MB uploaded
//! in order, `total_chunk_count = floor(video_size / chunk_size)` so the last chunk takes the
//! remainder (up to 128 MB); a video under 5 MB (or no larger than one chunk) is one chunk of its
//! whole size; 1 to 1,000 chunks.

/// One mebibyte: TikTok's "MB" in the chunk rules.
pub const MB: u64 = 1024 * 1024;
/// The smallest chunk.
pub const MIN_CHUNK: u64 = 5 * MB;
/// The largest chunk but the last.
pub const MAX_CHUNK: u64 = 64 * MB;
/// The largest last chunk.
pub const MAX_LAST_CHUNK: u64 = 128 * MB;
/// The largest video TikTok accepts by upload.
pub const MAX_VIDEO: u64 = 4 * 1024 * MB;
/// The most chunks.
pub const MAX_CHUNKS: u64 = 1000;

/// How a video is cut for upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChunkPlan {
    /// Total bytes.
    pub video_size: u64,
    /// Bytes of every chunk but the last.
    pub chunk_size: u64,
    /// Number of chunks.
    pub total: u64,
}

impl ChunkPlan {
    /// Cuts `video_size` bytes into chunks of about `preferred` bytes (clamped to 5-64 MB).
    pub fn new(video_size: u64, preferred: u64) -> Result<ChunkPlan, String> {
        if video_size == 0 {
            return Err("the video is empty".into());
        }
        if video_size > MAX_VIDEO {
            return Err(format!(
                "the video is {video_size} bytes; TikTok accepts up to 4 GB"
            ));
        }
        let chunk = preferred.clamp(MIN_CHUNK, MAX_CHUNK);
        if video_size <= chunk {
            return Ok(ChunkPlan {
                video_size,
                chunk_size: video_size,
                total: 1,
            });
        }
        let chunk = chunk.max(video_size.div_ceil(MAX_CHUNKS));
        let plan = ChunkPlan {
            video_size,
            chunk_size: chunk,
            total: video_size / chunk,
        };
        debug_assert!(plan.last_len() <= MAX_LAST_CHUNK);
        Ok(plan)
    }

    /// Inclusive byte range `(first, last)` of chunk `index` (0-based).
    pub fn range(&self, index: u64) -> (u64, u64) {
        let first = index * self.chunk_size;
        let last = if index + 1 >= self.total {
            self.video_size - 1
        } else {
            first + self.chunk_size - 1
        };
        (first, last)
    }

    /// Length of the last chunk.
    pub fn last_len(&self) -> u64 {
        self.video_size - (self.total - 1) * self.chunk_size
    }

    /// The chunk that starts at byte `offset`, if `offset` is a chunk boundary.
    pub fn chunk_at(&self, offset: u64) -> Option<u64> {
        (offset.is_multiple_of(self.chunk_size) && offset < self.video_size)
            .then_some(offset / self.chunk_size)
            .filter(|i| *i < self.total)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn small_videos_are_one_chunk_of_their_whole_size() {
        let plan = ChunkPlan::new(3 * MB, 10 * MB).unwrap();
        assert_eq!((plan.chunk_size, plan.total), (3 * MB, 1));
        assert_eq!(plan.range(0), (0, 3 * MB - 1));
        let plan = ChunkPlan::new(9 * MB, 10 * MB).unwrap();
        assert_eq!((plan.chunk_size, plan.total), (9 * MB, 1));
    }

    #[test]
    fn the_last_chunk_takes_the_remainder() {
        // 17 MiB in 5 MiB chunks: floor(17 / 5) = 3 chunks, the last 7 MiB.
        let plan = ChunkPlan::new(17 * MB, 5 * MB).unwrap();
        assert_eq!(plan.total, 3);
        assert_eq!(plan.range(0), (0, 5 * MB - 1));
        assert_eq!(plan.range(1), (5 * MB, 10 * MB - 1));
        assert_eq!(plan.range(2), (10 * MB, 17 * MB - 1));
        assert_eq!(plan.last_len(), 7 * MB);
        assert_eq!(plan.chunk_at(10 * MB), Some(2));
        assert_eq!(plan.chunk_at(10 * MB + 1), None);
        assert_eq!(plan.chunk_at(17 * MB), None);
    }

    #[test]
    fn chunk_sizes_stay_within_the_documented_bounds() {
        assert_eq!(ChunkPlan::new(100 * MB, MB).unwrap().chunk_size, MIN_CHUNK);
        assert_eq!(
            ChunkPlan::new(1000 * MB, 500 * MB).unwrap().chunk_size,
            MAX_CHUNK
        );
        for size in [
            5 * MB,
            5 * MB + 1,
            64 * MB,
            64 * MB + 1,
            127 * MB + 3,
            4096 * MB,
        ] {
            for preferred in [5 * MB, 10 * MB, 64 * MB] {
                let plan = ChunkPlan::new(size, preferred).unwrap();
                assert!((1..=MAX_CHUNKS).contains(&plan.total));
                assert!(plan.last_len() <= MAX_LAST_CHUNK);
                if plan.total > 1 {
                    assert!((MIN_CHUNK..=MAX_CHUNK).contains(&plan.chunk_size));
                    assert_eq!(plan.total, size / plan.chunk_size);
                }
                let covered: u64 = (0..plan.total)
                    .map(|i| plan.range(i))
                    .map(|(a, b)| b - a + 1)
                    .sum();
                assert_eq!(covered, size);
            }
        }
        assert!(ChunkPlan::new(0, MB).is_err());
        assert!(ChunkPlan::new(MAX_VIDEO + 1, MB).is_err());
    }
}
