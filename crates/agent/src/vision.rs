//! Images for the model: load a file, check it really is an image, downscale it to fit 2048 px.
//!
//! The rules are Codex's (docs/protocols/codex.md §B.5): the format is detected from the content,
//! not the extension; PNG, JPEG and WebP files whose sides are both ≤ 2048 px go to the model
//! byte for byte; larger ones are resized to fit 2048×2048 (aspect kept, Triangle filter) and
//! re-encoded in their own format (JPEG at quality 85, WebP lossless); GIF (first frame) always
//! becomes PNG. Used by the `read_image` tool and by `sx -i PATH`.

use std::io::Cursor;
use std::path::Path;

use base64::Engine as _;
use image::codecs::jpeg::JpegEncoder;
use image::codecs::png::PngEncoder;
use image::codecs::webp::WebPEncoder;
use image::imageops::FilterType;
use image::{DynamicImage, ImageFormat, ImageReader};
use sxnet::model::Image;

/// Longest side an image may have when sent to the model.
pub const MAX_SIDE: u32 = 2048;

/// Files larger than this are refused before decoding.
const MAX_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// An image ready for the model, with what is worth telling about it.
#[derive(Debug, Clone, PartialEq)]
pub struct LoadedImage {
    pub image: Image,
    /// Size of the image as sent.
    pub width: u32,
    pub height: u32,
    /// Size of the file's image, when it was downscaled.
    pub resized_from: Option<(u32, u32)>,
}

/// Load an image file for the model (see the module docs). Errors are one sentence naming the
/// file, fit to show to the user or the model.
pub fn load_image(path: &Path) -> Result<Image, String> {
    load(path).map(|l| l.image)
}

/// [`load_image`] plus the sizes.
pub fn load(path: &Path) -> Result<LoadedImage, String> {
    use crate::tools::bounded::{OpenError, open_regular, read_capped};
    let shown = path.display();
    // A regular file, opened without blocking, read to the limit at most: `/dev/zero` or a
    // FIFO is refused before anything is read (docs/reliability.md).
    let (mut file, meta) = open_regular(path).map_err(|e| match e {
        OpenError::NotFound => format!("cannot read image {shown}: no such file"),
        OpenError::IsDirectory => format!("cannot read image {shown}: it is a directory"),
        OpenError::NotAFile => format!(
            "cannot read image {shown}: it is not a regular file (a device, socket or FIFO)"
        ),
        OpenError::Protected => format!(
            "cannot read image {shown}: it is a credential file sx uses; sx never gives its content to the model"
        ),
        OpenError::Io(e) => format!("cannot read image {shown}: {}", io_reason(&e)),
    })?;
    let too_big = |len: u64| {
        format!(
            "cannot use image {shown}: the file is {} MiB, more than the {} MiB limit",
            len / (1024 * 1024),
            MAX_FILE_BYTES / (1024 * 1024)
        )
    };
    if meta.len() > MAX_FILE_BYTES {
        return Err(too_big(meta.len()));
    }
    let bytes = read_capped(&mut file, MAX_FILE_BYTES)
        .map_err(|e| format!("cannot read image {shown}: {}", io_reason(&e)))?;
    if bytes.len() as u64 > MAX_FILE_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
    from_bytes(bytes, name).map_err(|why| format!("cannot use image {shown}: {why}"))
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The same as [`load`] for bytes already in memory; errors say only what is wrong.
pub fn from_bytes(bytes: Vec<u8>, name: Option<String>) -> Result<LoadedImage, String> {
    if bytes.is_empty() {
        return Err("the file is empty".into());
    }
    let format = match image::guess_format(&bytes) {
        Ok(f @ (ImageFormat::Png | ImageFormat::Jpeg | ImageFormat::WebP | ImageFormat::Gif)) => f,
        Ok(other) => {
            return Err(format!(
                "it is a {} image; only PNG, JPEG, WebP and GIF are supported",
                other
                    .extensions_str()
                    .first()
                    .unwrap_or(&"?")
                    .to_uppercase()
            ));
        }
        Err(_) => return Err("it is not an image (not PNG, JPEG, WebP or GIF)".into()),
    };
    let decoded = ImageReader::with_format(Cursor::new(&bytes), format)
        .decode()
        .map_err(|e| {
            format!(
                "the {} data is corrupt or truncated ({e})",
                format_label(format)
            )
        })?;
    let (w, h) = (decoded.width(), decoded.height());
    if w == 0 || h == 0 {
        return Err("the image has no pixels".into());
    }
    let fits = w <= MAX_SIDE && h <= MAX_SIDE;
    if fits && format != ImageFormat::Gif {
        return Ok(LoadedImage {
            image: make(format, &bytes, name),
            width: w,
            height: h,
            resized_from: None,
        });
    }
    let (img, resized_from) = if fits {
        (decoded, None)
    } else {
        (
            decoded.resize(MAX_SIDE, MAX_SIDE, FilterType::Triangle),
            Some((w, h)),
        )
    };
    let out_format = if format == ImageFormat::Gif {
        ImageFormat::Png
    } else {
        format
    };
    let encoded = encode(&img, out_format).map_err(|e| format!("re-encoding it failed ({e})"))?;
    Ok(LoadedImage {
        image: make(out_format, &encoded, name),
        width: img.width(),
        height: img.height(),
        resized_from,
    })
}

fn make(format: ImageFormat, bytes: &[u8], name: Option<String>) -> Image {
    Image {
        media_type: format.to_mime_type().to_string(),
        data: base64::engine::general_purpose::STANDARD.encode(bytes),
        name,
    }
}

fn format_label(f: ImageFormat) -> &'static str {
    match f {
        ImageFormat::Png => "PNG",
        ImageFormat::Jpeg => "JPEG",
        ImageFormat::WebP => "WebP",
        ImageFormat::Gif => "GIF",
        _ => "image",
    }
}

fn encode(img: &DynamicImage, format: ImageFormat) -> image::ImageResult<Vec<u8>> {
    let mut out = Vec::new();
    match format {
        ImageFormat::Jpeg => {
            let enc = JpegEncoder::new_with_quality(&mut out, 85);
            match img {
                DynamicImage::ImageLuma8(_) | DynamicImage::ImageRgb8(_) => {
                    img.write_with_encoder(enc)?
                }
                _ => DynamicImage::ImageRgb8(img.to_rgb8()).write_with_encoder(enc)?,
            }
        }
        ImageFormat::WebP => {
            let enc = WebPEncoder::new_lossless(&mut out);
            if img.color().has_alpha() {
                DynamicImage::ImageRgba8(img.to_rgba8()).write_with_encoder(enc)?;
            } else {
                DynamicImage::ImageRgb8(img.to_rgb8()).write_with_encoder(enc)?;
            }
        }
        _ => img.write_with_encoder(PngEncoder::new(&mut out))?,
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{Rgb, RgbImage, Rgba, RgbaImage};

    fn sample(w: u32, h: u32) -> DynamicImage {
        DynamicImage::ImageRgb8(RgbImage::from_fn(w, h, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        }))
    }

    fn write(
        dir: &Path,
        name: &str,
        img: &DynamicImage,
        format: ImageFormat,
    ) -> std::path::PathBuf {
        let path = dir.join(name);
        let bytes = match format {
            ImageFormat::Jpeg => encode(img, ImageFormat::Jpeg).unwrap(),
            ImageFormat::WebP => encode(img, ImageFormat::WebP).unwrap(),
            _ => {
                let mut out = Cursor::new(Vec::new());
                img.write_to(&mut out, format).unwrap();
                out.into_inner()
            }
        };
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn decode(image: &Image) -> (ImageFormat, DynamicImage) {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(&image.data)
            .unwrap();
        let format = image::guess_format(&bytes).unwrap();
        (format, image::load_from_memory(&bytes).unwrap())
    }

    #[test]
    fn large_png_is_downscaled_keeping_aspect_and_format() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "wide.png",
            &sample(4000, 1000),
            ImageFormat::Png,
        );
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.image.media_type, "image/png");
        assert_eq!(loaded.image.name.as_deref(), Some("wide.png"));
        assert_eq!((loaded.width, loaded.height), (2048, 512));
        assert_eq!(loaded.resized_from, Some((4000, 1000)));
        let (format, img) = decode(&loaded.image);
        assert_eq!(format, ImageFormat::Png);
        assert_eq!((img.width(), img.height()), (2048, 512));
    }

    #[test]
    fn tall_jpeg_is_downscaled_and_stays_jpeg() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "tall.jpg",
            &sample(300, 3000),
            ImageFormat::Jpeg,
        );
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.image.media_type, "image/jpeg");
        let (format, img) = decode(&loaded.image);
        assert_eq!(format, ImageFormat::Jpeg);
        assert_eq!(img.height(), 2048);
        assert!(img.width().abs_diff(205) <= 1, "width {}", img.width());
    }

    #[test]
    fn small_jpeg_passes_through_byte_identical() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "photo.jpg", &sample(64, 48), ImageFormat::Jpeg);
        let image = load_image(&path).unwrap();
        assert_eq!(image.media_type, "image/jpeg");
        let original = std::fs::read(&path).unwrap();
        assert_eq!(
            base64::engine::general_purpose::STANDARD
                .decode(&image.data)
                .unwrap(),
            original
        );
    }

    #[test]
    fn small_png_and_webp_pass_through() {
        let dir = tempfile::tempdir().unwrap();
        let rgba = DynamicImage::ImageRgba8(RgbaImage::from_pixel(10, 20, Rgba([1, 2, 3, 4])));
        for (name, format, mime) in [
            ("a.png", ImageFormat::Png, "image/png"),
            ("b.webp", ImageFormat::WebP, "image/webp"),
        ] {
            let path = write(dir.path(), name, &rgba, format);
            let loaded = load(&path).unwrap();
            assert_eq!(loaded.image.media_type, mime);
            assert_eq!(
                (loaded.width, loaded.height, loaded.resized_from),
                (10, 20, None)
            );
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&loaded.image.data)
                .unwrap();
            assert_eq!(bytes, std::fs::read(&path).unwrap());
        }
    }

    #[test]
    fn large_webp_stays_webp() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "big.webp",
            &sample(2100, 100),
            ImageFormat::WebP,
        );
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.image.media_type, "image/webp");
        let (format, img) = decode(&loaded.image);
        assert_eq!(format, ImageFormat::WebP);
        assert_eq!(img.width(), 2048);
    }

    #[test]
    fn gif_becomes_png() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "anim.gif", &sample(30, 40), ImageFormat::Gif);
        let loaded = load(&path).unwrap();
        assert_eq!(loaded.image.media_type, "image/png");
        assert_eq!(loaded.image.name.as_deref(), Some("anim.gif"));
        let (format, img) = decode(&loaded.image);
        assert_eq!(format, ImageFormat::Png);
        assert_eq!((img.width(), img.height()), (30, 40));
    }

    #[test]
    fn format_comes_from_content_not_extension() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(
            dir.path(),
            "really-a-png.jpg",
            &sample(5, 5),
            ImageFormat::Png,
        );
        assert_eq!(load_image(&path).unwrap().media_type, "image/png");
    }

    #[test]
    fn bad_files_are_clear_errors_naming_the_file() {
        let dir = tempfile::tempdir().unwrap();
        let good = write(dir.path(), "ok.png", &sample(50, 50), ImageFormat::Png);
        let mut bytes = std::fs::read(&good).unwrap();
        bytes.truncate(bytes.len() / 2);
        let corrupt = dir.path().join("corrupt.png");
        std::fs::write(&corrupt, bytes).unwrap();
        let err = load_image(&corrupt).unwrap_err();
        assert!(
            err.contains("corrupt.png") && err.contains("corrupt or truncated"),
            "{err}"
        );

        let text = dir.path().join("notes.png");
        std::fs::write(&text, "just some text\n").unwrap();
        let err = load_image(&text).unwrap_err();
        assert!(
            err.contains("notes.png") && err.contains("not an image"),
            "{err}"
        );

        let bmp = dir.path().join("pic.bmp");
        std::fs::write(&bmp, [b"BM".as_slice(), &[0u8; 60]].concat()).unwrap();
        let err = load_image(&bmp).unwrap_err();
        assert!(
            err.contains("pic.bmp") && err.contains("BMP") && err.contains("supported"),
            "{err}"
        );

        let empty = dir.path().join("empty.webp");
        std::fs::write(&empty, "").unwrap();
        assert!(load_image(&empty).unwrap_err().contains("empty"));

        let missing = dir.path().join("missing.png");
        let err = load_image(&missing).unwrap_err();
        assert!(
            err.contains("missing.png") && err.contains("no such file"),
            "{err}"
        );

        let err = load_image(dir.path()).unwrap_err();
        assert!(err.contains("directory"), "{err}");
    }
}
