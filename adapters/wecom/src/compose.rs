//! Turning one [`Outgoing`] into the WeCom messages that carry it: its text in parts within the
//! documented sizes (split at line ends, in order), then its image.

use std::path::{Path, PathBuf};

use base64::Engine as _;
use md5::{Digest as _, Md5};
use serde::Serialize;
use zhibu_chat::{split_lines, Outgoing, UserId};

/// The largest `text.content`, in UTF-8 bytes.
pub const TEXT_MAX_BYTES: usize = 2048;
/// The largest `markdown.content`, in UTF-8 bytes.
pub const MARKDOWN_MAX_BYTES: usize = 4096;
/// The largest image, before base64.
pub const IMAGE_MAX_BYTES: u64 = 2 * 1024 * 1024;

/// How a robot sends the bot's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Format {
    /// `msgtype: text` (the default): shown exactly as the bot wrote it; mentions notify by
    /// `mentioned_list`.
    #[default]
    Text,
    /// `msgtype: markdown`: links and bold in study items render, parts may be twice as long;
    /// mentions are written `<@userid>`.
    Markdown,
}

/// One message to a robot, serialized exactly as the webhook expects it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "msgtype", rename_all = "lowercase")]
pub enum Message {
    Text { text: Text },
    Markdown { markdown: Markdown },
    Image { image: Image },
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Text {
    pub content: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mentioned_list: Vec<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub mentioned_mobile_list: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Markdown {
    pub content: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Image {
    /// The file, base64 (standard alphabet, padded).
    pub base64: String,
    /// MD5 of the file's bytes (not of the base64), lowercase hex.
    pub md5: String,
}

/// Why a message cannot be sent to a robot at all (retrying will not help).
#[derive(Debug, thiserror::Error)]
pub enum ComposeError {
    #[error("cannot read image {path}: {source}")]
    ReadImage { path: PathBuf, source: std::io::Error },
    #[error("image {path} is {bytes} bytes; a WeCom robot takes at most 2 MB")]
    ImageTooLarge { path: PathBuf, bytes: u64 },
    #[error("image {path} is not a JPEG or PNG file")]
    ImageFormat { path: PathBuf },
}

/// The messages that carry `message`, in sending order.
pub fn compose(message: &Outgoing, format: Format) -> Result<Vec<Message>, ComposeError> {
    // Read first: an unusable image fails the whole message before any part of it is sent.
    let image = message.image.as_deref().map(image).transpose()?;
    let mut users = Vec::new();
    let mut mobiles = Vec::new();
    for mention in &message.mentions {
        let list = match mention_target(&mention.user) {
            Some(Target::User(u)) => (&mut users, u),
            Some(Target::Mobile(m)) => (&mut mobiles, m),
            None => continue,
        };
        if !list.0.iter().any(|x| x == list.1) {
            list.0.push(list.1.to_owned());
        }
    }
    let mut out: Vec<Message> = match format {
        Format::Text => split_lines(&message.text, TEXT_MAX_BYTES)
            .into_iter()
            .enumerate()
            .map(|(i, content)| {
                // The first part notifies; repeating the @ on every part would ping again.
                let (mentioned_list, mentioned_mobile_list) = if i == 0 { (users.clone(), mobiles.clone()) } else { Default::default() };
                Message::Text { text: Text { content, mentioned_list, mentioned_mobile_list } }
            })
            .collect(),
        Format::Markdown => {
            let at: Vec<String> = users.iter().map(|u| format!("<@{u}>")).collect();
            let at = at.join(" ");
            let mut parts = split_lines(&message.text, MARKDOWN_MAX_BYTES);
            match parts.first_mut() {
                Some(first) if first.len() + 1 + at.len() <= MARKDOWN_MAX_BYTES && !at.is_empty() => {
                    first.push('\n');
                    first.push_str(&at);
                }
                _ if !at.is_empty() => parts.insert(parts.len().min(1), at),
                _ => {}
            }
            parts.into_iter().map(|content| Message::Markdown { markdown: Markdown { content } }).collect()
        }
    };
    out.extend(image.map(|image| Message::Image { image }));
    Ok(out)
}

enum Target<'a> {
    User(&'a str),
    Mobile(&'a str),
}

/// Whom a mention can notify: robots @ WeCom users by userid (`wecom:<userid>`) or by mobile
/// number (`wecom:tel:<number>`); users of other platforms are only named in the text.
fn mention_target(user: &UserId) -> Option<Target<'_>> {
    if user.platform().as_str() != crate::PLATFORM {
        return None;
    }
    Some(match user.local().strip_prefix("tel:") {
        Some(mobile) => Target::Mobile(mobile),
        None => Target::User(user.local()),
    })
}

/// Reads an image file into the webhook's form.
fn image(path: &Path) -> Result<Image, ComposeError> {
    let read = |source| ComposeError::ReadImage { path: path.to_owned(), source };
    let bytes = std::fs::metadata(path).map_err(read)?.len();
    if bytes > IMAGE_MAX_BYTES {
        return Err(ComposeError::ImageTooLarge { path: path.to_owned(), bytes });
    }
    // A rendered image of at most 2 MB on local disk: a blocking read is shorter than a
    // round trip to a blocking thread would be.
    let data = std::fs::read(path).map_err(read)?;
    if data.len() as u64 > IMAGE_MAX_BYTES {
        return Err(ComposeError::ImageTooLarge { path: path.to_owned(), bytes: data.len() as u64 });
    }
    if !is_jpeg_or_png(&data) {
        return Err(ComposeError::ImageFormat { path: path.to_owned() });
    }
    Ok(Image { base64: base64::engine::general_purpose::STANDARD.encode(&data), md5: format!("{:x}", Md5::digest(&data)) })
}

pub(crate) fn is_jpeg_or_png(data: &[u8]) -> bool {
    data.starts_with(&[0xFF, 0xD8, 0xFF]) || data.starts_with(b"\x89PNG\r\n\x1a\n")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use zhibu_chat::{ChatId, Mention};

    fn out(text: &str) -> Outgoing {
        Outgoing::text(ChatId::parse("wecom:cs").unwrap(), text)
    }

    fn mention(id: &str) -> Mention {
        Mention { user: UserId::parse(id).unwrap(), display_name: "x".into() }
    }

    #[test]
    fn text_is_serialized_as_documented() {
        let json = serde_json::to_value(&compose(&out("签到提醒"), Format::Text).unwrap()[0]).unwrap();
        assert_eq!(json, serde_json::json!({"msgtype": "text", "text": {"content": "签到提醒"}}));
        let json = serde_json::to_value(&compose(&out("**学习**"), Format::Markdown).unwrap()[0]).unwrap();
        assert_eq!(json, serde_json::json!({"msgtype": "markdown", "markdown": {"content": "**学习**"}}));
    }

    #[test]
    fn long_text_splits_within_the_documented_limit() {
        let lines: Vec<String> = (0..300).map(|i| format!("第{i}行：学习党章，牢记使命。")).collect();
        let parts = compose(&out(&lines.join("\n")), Format::Text).unwrap();
        assert!(parts.len() > 1);
        for part in &parts {
            let json = serde_json::to_value(part).unwrap();
            assert!(json["text"]["content"].as_str().unwrap().len() <= TEXT_MAX_BYTES);
        }
    }

    #[test]
    fn only_wecom_users_are_mentioned_and_only_on_the_first_part() {
        let mut m = out(&"一行字\n".repeat(400));
        m.mentions = vec![mention("wecom:zhangsan"), mention("matrix:@a:hs.org"), mention("wecom:tel:13800000000"), mention("wecom:zhangsan")];
        let parts = compose(&m, Format::Text).unwrap();
        assert!(parts.len() > 1);
        let Message::Text { text } = &parts[0] else { panic!() };
        assert_eq!(text.mentioned_list, vec!["zhangsan"]);
        assert_eq!(text.mentioned_mobile_list, vec!["13800000000"]);
        let Message::Text { text } = &parts[1] else { panic!() };
        assert!(text.mentioned_list.is_empty() && text.mentioned_mobile_list.is_empty());

        m.text = "提交思想汇报".into();
        let parts = compose(&m, Format::Markdown).unwrap();
        assert_eq!(parts, vec![Message::Markdown { markdown: Markdown { content: "提交思想汇报\n<@zhangsan>".into() } }]);
    }

    #[test]
    fn images_come_after_the_text_with_base64_and_md5_of_the_bytes() {
        let dir = std::env::temp_dir().join(format!("zhibu-wecom-compose-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let png = dir.join("stats.png");
        let bytes = b"\x89PNG\r\n\x1a\nnot really an image".to_vec();
        std::fs::write(&png, &bytes).unwrap();
        let mut m = out("本周统计");
        m.image = Some(png);
        let parts = compose(&m, Format::Text).unwrap();
        assert_eq!(parts.len(), 2);
        let Message::Image { image } = &parts[1] else { panic!("{parts:?}") };
        assert_eq!(base64::engine::general_purpose::STANDARD.decode(&image.base64).unwrap(), bytes);
        assert_eq!(image.md5, format!("{:x}", Md5::digest(&bytes)));
        assert_eq!(image.md5.len(), 32);
        assert_eq!(image.md5, image.md5.to_lowercase());

        let gif = dir.join("x.gif");
        std::fs::write(&gif, b"GIF89a").unwrap();
        m.image = Some(gif);
        assert!(matches!(compose(&m, Format::Text), Err(ComposeError::ImageFormat { .. })));
        let big = dir.join("big.jpg");
        let mut data = vec![0xFF, 0xD8, 0xFF];
        data.resize(IMAGE_MAX_BYTES as usize + 1, 0);
        std::fs::write(&big, &data).unwrap();
        m.image = Some(big);
        assert!(matches!(compose(&m, Format::Text), Err(ComposeError::ImageTooLarge { .. })));
        m.image = Some(dir.join("missing.png"));
        assert!(matches!(compose(&m, Format::Text), Err(ComposeError::ReadImage { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
