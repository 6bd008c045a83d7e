//! A post's TikTok options, read from `post.options` and checked against the creator's
//! `creator_info` before anything is sent.
//!
//! | Option | Values | Meaning |
//! | --- | --- | --- |
//! | `mode` | `direct` (default), `draft` | post now, or send to the creator's inbox to finish in the app |
//! | `privacy-level` | one of the creator's `privacy_level_options` | required for direct posts: TikTok's guidelines forbid a default |
//! | `disable-comment`, `disable-duet`, `disable-stitch` | `true`, `false` | interactions; forced on where the creator disabled them |
//! | `video-duration-secs` | seconds | checked against the creator's `max_video_post_duration_sec` |
//! | `video-cover-timestamp-ms` | milliseconds | the frame used as cover |
//! | `title` | text, 90 characters | photo posts: the title (the text is the description) |
//! | `photo-cover-index` | index into the images | photo posts: the cover |

use postd_sdk::prelude::*;
use serde::Deserialize;

/// The longest title of a photo post.
pub const MAX_PHOTO_TITLE_CHARS: usize = 90;

/// What `/v2/post/publish/creator_info/query/` says about the creator.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct CreatorInfo {
    /// `@username`.
    #[serde(default)]
    pub creator_username: String,
    /// Privacy levels this creator may post with.
    #[serde(default)]
    pub privacy_level_options: Vec<String>,
    /// Comments are off in the creator's settings.
    #[serde(default)]
    pub comment_disabled: bool,
    /// Duets are off in the creator's settings.
    #[serde(default)]
    pub duet_disabled: bool,
    /// Stitches are off in the creator's settings.
    #[serde(default)]
    pub stitch_disabled: bool,
    /// The longest video this creator may post.
    #[serde(default)]
    pub max_video_post_duration_sec: Option<u64>,
}

/// Where a post goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Published at once.
    Direct,
    /// Sent to the creator's inbox as a draft.
    Draft,
}

/// The options of one post, parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Options {
    /// Direct or draft.
    pub mode: Mode,
    /// The privacy level asked for.
    pub privacy_level: Option<String>,
    /// Comments off.
    pub disable_comment: bool,
    /// Duets off.
    pub disable_duet: bool,
    /// Stitches off.
    pub disable_stitch: bool,
    /// The video's length, when the caller knows it.
    pub video_duration_secs: Option<u64>,
    /// Cover frame of a video.
    pub video_cover_timestamp_ms: Option<u64>,
    /// Title of a photo post.
    pub title: Option<String>,
    /// Cover of a photo post.
    pub photo_cover_index: usize,
}

fn flag(name: &str, value: &str) -> Result<bool> {
    match value {
        "true" => Ok(true),
        "false" => Ok(false),
        other => Err(Error::invalid_input(format!(
            "option `{name}` must be true or false, not `{other}`"
        ))),
    }
}

fn number(name: &str, value: &str) -> Result<u64> {
    value.parse().map_err(|_| {
        Error::invalid_input(format!(
            "option `{name}` must be a non-negative integer, not `{value}`"
        ))
    })
}

impl Options {
    /// Parses `options`; unknown names are refused so a typo never goes unnoticed.
    pub fn parse(options: &[(String, String)]) -> Result<Options> {
        let mut parsed = Options {
            mode: Mode::Direct,
            privacy_level: None,
            disable_comment: false,
            disable_duet: false,
            disable_stitch: false,
            video_duration_secs: None,
            video_cover_timestamp_ms: None,
            title: None,
            photo_cover_index: 0,
        };
        for (name, value) in options {
            let value = value.trim();
            match name.as_str() {
                "mode" => {
                    parsed.mode = match value {
                        "direct" => Mode::Direct,
                        "draft" => Mode::Draft,
                        other => {
                            return Err(Error::invalid_input(format!(
                                "option `mode` must be direct or draft, not `{other}`"
                            )));
                        }
                    }
                }
                "privacy-level" => parsed.privacy_level = Some(value.to_string()),
                "disable-comment" => parsed.disable_comment = flag(name, value)?,
                "disable-duet" => parsed.disable_duet = flag(name, value)?,
                "disable-stitch" => parsed.disable_stitch = flag(name, value)?,
                "video-duration-secs" => parsed.video_duration_secs = Some(number(name, value)?),
                "video-cover-timestamp-ms" => {
                    parsed.video_cover_timestamp_ms = Some(number(name, value)?)
                }
                "title" => {
                    if value.chars().count() > MAX_PHOTO_TITLE_CHARS {
                        return Err(Error::invalid_input(format!(
                            "option `title` may hold {MAX_PHOTO_TITLE_CHARS} characters"
                        )));
                    }
                    parsed.title = Some(value.to_string());
                }
                "photo-cover-index" => parsed.photo_cover_index = number(name, value)? as usize,
                other => {
                    return Err(Error::invalid_input(format!(
                        "unknown TikTok option `{other}` (known: mode, privacy-level, disable-comment, disable-duet, disable-stitch, video-duration-secs, video-cover-timestamp-ms, title, photo-cover-index)"
                    )));
                }
            }
        }
        Ok(parsed)
    }

    /// Checks a direct post against the creator: the privacy level must be one TikTok offers
    /// this creator (so `privacy_level_option_mismatch` never reaches TikTok), the video no
    /// longer than allowed; interactions the creator disabled stay disabled.
    pub fn check_against(&mut self, creator: &CreatorInfo) -> Result<String> {
        let offered = creator.privacy_level_options.join(", ");
        let Some(level) = self.privacy_level.clone() else {
            return Err(Error::invalid_input(format!(
                "option `privacy-level` is required for a direct TikTok post; this creator may choose: {offered}"
            )));
        };
        if !creator.privacy_level_options.contains(&level) {
            return Err(Error::invalid_input(format!(
                "privacy level `{level}` is not offered to this creator; choose one of: {offered}"
            )));
        }
        if let (Some(duration), Some(max)) = (
            self.video_duration_secs,
            creator.max_video_post_duration_sec,
        ) && duration > max
        {
            return Err(Error::invalid_input(format!(
                "the video lasts {duration} s; this creator may post at most {max} s"
            )));
        }
        self.disable_comment |= creator.comment_disabled;
        self.disable_duet |= creator.duet_disabled;
        self.disable_stitch |= creator.stitch_disabled;
        Ok(level)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(pairs: &[(&str, &str)]) -> Result<Options> {
        Options::parse(
            &pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect::<Vec<_>>(),
        )
    }

    fn creator() -> CreatorInfo {
        CreatorInfo {
            creator_username: "c".into(),
            privacy_level_options: vec!["PUBLIC_TO_EVERYONE".into(), "SELF_ONLY".into()],
            stitch_disabled: true,
            max_video_post_duration_sec: Some(60),
            ..CreatorInfo::default()
        }
    }

    #[test]
    fn privacy_is_required_and_must_be_offered() {
        let mut missing = opts(&[]).unwrap();
        assert!(
            matches!(missing.check_against(&creator()), Err(Error::InvalidInput(m)) if m.contains("SELF_ONLY"))
        );
        let mut friends = opts(&[("privacy-level", "MUTUAL_FOLLOW_FRIENDS")]).unwrap();
        assert!(matches!(
            friends.check_against(&creator()),
            Err(Error::InvalidInput(_))
        ));
        let mut ok = opts(&[("privacy-level", "SELF_ONLY")]).unwrap();
        assert_eq!(ok.check_against(&creator()).unwrap(), "SELF_ONLY");
        assert!(ok.disable_stitch, "the creator's setting wins");
        assert!(!ok.disable_comment);
    }

    #[test]
    fn durations_flags_and_unknown_options_are_checked() {
        let mut long = opts(&[
            ("privacy-level", "SELF_ONLY"),
            ("video-duration-secs", "61"),
        ])
        .unwrap();
        assert!(
            matches!(long.check_against(&creator()), Err(Error::InvalidInput(m)) if m.contains("60"))
        );
        assert!(opts(&[("disable-comment", "yes")]).is_err());
        assert!(opts(&[("privacy", "SELF_ONLY")]).is_err());
        assert!(opts(&[("mode", "later")]).is_err());
        assert!(opts(&[("title", &"x".repeat(91))]).is_err());
        let draft = opts(&[("mode", "draft"), ("photo-cover-index", "2")]).unwrap();
        assert_eq!(draft.mode, Mode::Draft);
        assert_eq!(draft.photo_cover_index, 2);
    }
}
