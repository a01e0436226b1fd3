//! `read_image`: put an image file into the conversation (see `crate::vision`).

use async_trait::async_trait;
use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolKind, ToolOutput, str_arg};
use crate::vision;

pub struct ReadImage;

const DESCRIPTION: &str = "Look at an image file: PNG, JPEG, WebP or GIF (first frame), detected from the content. \
The image is added to the conversation so you can see it; images larger than 2048 px on a side are scaled down to fit 2048x2048. \
Use it for screenshots, diagrams and rendered output; for text files use read_file.";

#[async_trait]
impl Tool for ReadImage {
    fn name(&self) -> &'static str {
        "read_image"
    }
    fn description(&self) -> &'static str {
        DESCRIPTION
    }
    fn parameters(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "path": {"type": "string", "description": "The image file, absolute or relative to the working directory."}
            },
            "required": ["path"],
            "additionalProperties": false
        })
    }
    fn kind(&self) -> ToolKind {
        ToolKind::ReadOnly
    }
    async fn run(&self, input: Value, ctx: &ToolContext) -> ToolOutput {
        let arg = match str_arg(&input, "path") {
            Ok(p) => p.to_string(),
            Err(e) => return e,
        };
        let path = ctx.resolve(&arg);
        let load = tokio::task::spawn_blocking(move || vision::load(&path));
        let loaded = match tokio::time::timeout(super::bounded::READ_ONLY_TIMEOUT, load).await {
            Ok(Ok(Ok(l))) => l,
            Ok(Ok(Err(why))) => {
                return ToolOutput::error(format!("{why}; pass a PNG, JPEG, WebP or GIF file"));
            }
            Ok(Err(e)) => return ToolOutput::error(format!("loading the image failed: {e}")),
            Err(_) => {
                return ToolOutput::error(format!(
                    "loading {arg} did not finish within {} s and was abandoned; pass a PNG, JPEG, WebP or GIF file",
                    super::bounded::READ_ONLY_TIMEOUT.as_secs()
                ));
            }
        };
        let kind = loaded.image.media_type.clone();
        let mut text = format!("image {arg} ({}x{}, {kind})", loaded.width, loaded.height);
        if let Some((w, h)) = loaded.resized_from {
            text.push_str(&format!(", scaled down from {w}x{h}"));
        }
        ToolOutput {
            text,
            images: vec![loaded.image],
            ..Default::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{DynamicImage, RgbImage};
    use std::path::Path;
    use tokio_util::sync::CancellationToken;

    async fn read(dir: &Path, path: &str) -> ToolOutput {
        let ctx = ToolContext {
            cwd: dir.to_path_buf(),
            project_root: dir.to_path_buf(),
            extra_roots: Vec::new(),
            cancel: CancellationToken::new(),
        };
        ReadImage.run(json!({"path": path}), &ctx).await
    }

    #[tokio::test]
    async fn adds_the_image() {
        let dir = tempfile::tempdir().unwrap();
        DynamicImage::ImageRgb8(RgbImage::new(3000, 1500))
            .save(dir.path().join("shot.png"))
            .unwrap();
        let out = read(dir.path(), "shot.png").await;
        assert!(!out.is_error, "{}", out.text);
        assert_eq!(
            out.text,
            "image shot.png (2048x1024, image/png), scaled down from 3000x1500"
        );
        assert_eq!(out.images.len(), 1);
        assert_eq!(out.images[0].media_type, "image/png");
        assert_eq!(out.images[0].name.as_deref(), Some("shot.png"));
    }

    #[tokio::test]
    async fn problems_are_tool_errors() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("notes.txt"), "text").unwrap();
        let out = read(dir.path(), "notes.txt").await;
        assert!(out.is_error && out.images.is_empty());
        assert!(
            out.text.contains("notes.txt") && out.text.contains("not an image"),
            "{}",
            out.text
        );
        let out = read(dir.path(), "missing.png").await;
        assert!(
            out.is_error && out.text.contains("no such file"),
            "{}",
            out.text
        );
    }
}
