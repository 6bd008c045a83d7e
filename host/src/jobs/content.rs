//! What a post may carry to one plugin, judged at accept from the plugin's manifest: the kinds of
//! post it declares it can publish (`capabilities`) and its content limits. A post that breaks a
//! rule is refused before anything is queued, naming the rule, instead of being published with
//! parts silently dropped or dead-lettered later.

use crate::runtime::wit::connector::{Capabilities, PluginManifest};
use crate::store::PostContent;

/// The first rule `content` breaks for the plugin `manifest` describes, as a sentence.
pub(super) fn check(manifest: &PluginManifest, content: &PostContent) -> Result<(), String> {
    let can = |flag: Capabilities| manifest.capabilities.contains(flag);
    let declared = || declared_kinds(manifest.capabilities);
    let media = &content.media;
    if media.is_empty() && !can(Capabilities::TEXT) {
        return Err(format!(
            "this plugin does not publish posts without media (it declares: {})",
            declared()
        ));
    }
    if content.link.is_some() && !can(Capabilities::LINK) {
        return Err(format!(
            "this plugin does not publish links (it declares: {}); put the link in the text",
            declared()
        ));
    }
    if media.len() > 1 && !can(Capabilities::CAROUSEL) {
        return Err(format!(
            "{} media items, but this plugin publishes one per post (it declares: {})",
            media.len(),
            declared()
        ));
    }
    let limits = &manifest.limits;
    let chars = content.text.chars().count();
    if let Some(max) = limits.max_text_chars
        && chars > max as usize
    {
        return Err(format!("text is {chars} characters, the limit is {max}"));
    }
    if let Some(max) = limits.max_media_count
        && media.len() > max as usize
    {
        return Err(format!("{} media items, the limit is {max}", media.len()));
    }
    for (index, item) in media.iter().enumerate() {
        let (flag, cap) = match item.kind.as_str() {
            "image" => (Capabilities::IMAGE, limits.max_image_bytes),
            "video" => (Capabilities::VIDEO, limits.max_video_bytes),
            other => return Err(format!("media {index}: kind `{other}`: use image or video")),
        };
        if !can(flag) {
            return Err(format!(
                "media {index}: this plugin does not publish {}s (it declares: {})",
                item.kind,
                declared()
            ));
        }
        if let (Some(cap), Some(size)) = (cap, item.size_bytes)
            && size > cap
        {
            return Err(format!(
                "media {index}: {} of {size} bytes, the limit is {cap}",
                item.kind
            ));
        }
    }
    Ok(())
}

/// The post kinds a plugin declares, for messages: `text, link, image`.
fn declared_kinds(capabilities: Capabilities) -> String {
    let kinds = [
        (Capabilities::TEXT, "text"),
        (Capabilities::LINK, "link"),
        (Capabilities::IMAGE, "image"),
        (Capabilities::VIDEO, "video"),
        (Capabilities::CAROUSEL, "carousel"),
    ];
    let named: Vec<&str> = kinds
        .iter()
        .filter(|(flag, _)| capabilities.contains(*flag))
        .map(|(_, name)| *name)
        .collect();
    if named.is_empty() {
        "no post kinds".into()
    } else {
        named.join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::runtime::wit::connector::{AuthKind, ContentLimits};
    use crate::store::MediaItem;

    fn manifest(capabilities: Capabilities) -> PluginManifest {
        PluginManifest {
            id: "p".into(),
            display_name: "P".into(),
            version: "1".into(),
            sdk_version: "0.2.0".into(),
            auth: AuthKind::Oauth2,
            scopes: vec![],
            capabilities,
            limits: ContentLimits {
                max_text_chars: Some(10),
                max_media_count: None,
                max_image_bytes: Some(100),
                max_video_bytes: None,
                max_video_seconds: None,
            },
            rate_budget: None,
            refresh_before_expiry_secs: None,
            schedule_window: None,
            settings: vec![],
        }
    }

    fn item(kind: &str, size: Option<u64>) -> MediaItem {
        MediaItem {
            kind: kind.into(),
            url: "https://cdn.example/x".into(),
            mime_type: None,
            size_bytes: size,
            alt_text: None,
        }
    }

    fn content(text: &str, link: Option<&str>, media: Vec<MediaItem>) -> PostContent {
        PostContent {
            text: text.into(),
            link: link.map(str::to_string),
            media,
            options: Default::default(),
        }
    }

    #[test]
    fn each_rule_is_named() {
        let video_only = manifest(Capabilities::VIDEO | Capabilities::IMAGE);
        let refused = check(&video_only, &content("hi", None, vec![])).unwrap_err();
        assert!(
            refused.contains("without media") && refused.contains("image, video"),
            "{refused}"
        );

        let text_only = manifest(Capabilities::TEXT);
        let link = check(&text_only, &content("hi", Some("https://x"), vec![])).unwrap_err();
        assert!(link.contains("does not publish links"), "{link}");
        let image = check(&text_only, &content("hi", None, vec![item("image", None)])).unwrap_err();
        assert!(
            image.contains("media 0") && image.contains("images"),
            "{image}"
        );

        let single = manifest(Capabilities::TEXT | Capabilities::IMAGE);
        let two = vec![item("image", None), item("image", None)];
        let many = check(&single, &content("hi", None, two)).unwrap_err();
        assert!(many.contains("one per post"), "{many}");
        let big = check(
            &single,
            &content("hi", None, vec![item("image", Some(101))]),
        )
        .unwrap_err();
        assert!(big.contains("101 bytes, the limit is 100"), "{big}");
        let long = check(&single, &content("eleven char", None, vec![])).unwrap_err();
        assert!(long.contains("11 characters"), "{long}");
        let odd = check(&single, &content("hi", None, vec![item("gif", None)])).unwrap_err();
        assert!(odd.contains("`gif`"), "{odd}");

        assert_eq!(
            check(
                &single,
                &content("hi", None, vec![item("image", Some(100))])
            ),
            Ok(())
        );
        assert_eq!(check(&text_only, &content("hi", None, vec![])), Ok(()));
    }
}
