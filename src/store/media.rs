//! Photos: JPEG, PNG or WebP, stored on disk under their SHA-256 (so the same
//! photo sent twice is stored once) and registered in the `media` table.

use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use sqlx::PgPool;

/// The largest photo accepted.
pub const MAX_BYTES: usize = 10 * 1024 * 1024;

/// The image type by its leading bytes (the declared type is not trusted).
pub fn sniff(bytes: &[u8]) -> Option<&'static str> {
    if bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        Some("image/jpeg")
    } else if bytes.starts_with(b"\x89PNG\r\n\x1a\n") {
        Some("image/png")
    } else if bytes.len() >= 12 && &bytes[0..4] == b"RIFF" && &bytes[8..12] == b"WEBP" {
        Some("image/webp")
    } else {
        None
    }
}

/// The largest picture accepted, in pixels: more than any phone camera takes,
/// few enough to decode in bounded memory.
pub const MAX_PIXELS: u64 = 64_000_000;

/// Why an upload is not a picture.
#[derive(Debug, thiserror::Error)]
pub enum PictureError {
    #[error("the body is not a JPEG, PNG or WebP image")]
    UnknownType,
    #[error("the {kind} image cannot be decoded: {reason}")]
    Undecodable { kind: &'static str, reason: String },
    #[error("the image is {width}×{height}: at most {MAX_PIXELS} pixels")]
    TooManyPixels { width: u64, height: u64 },
}

/// The picture's type and size, after decoding it whole: a file that only
/// starts like an image is refused. CPU-bound: call from a blocking thread.
pub fn check_picture(bytes: &[u8]) -> Result<(&'static str, u32, u32), PictureError> {
    let kind = sniff(bytes).ok_or(PictureError::UnknownType)?;
    let bad = |reason: String| PictureError::Undecodable { kind, reason };
    let big = |w: u32, h: u32| {
        (u64::from(w) * u64::from(h) > MAX_PIXELS).then_some(PictureError::TooManyPixels {
            width: w.into(),
            height: h.into(),
        })
    };
    let (w, h) = match kind {
        "image/png" => {
            let mut decoder = png::Decoder::new_with_limits(
                std::io::Cursor::new(bytes),
                png::Limits { bytes: 512 << 20 },
            );
            decoder.set_ignore_text_chunk(true);
            let mut reader = decoder.read_info().map_err(|e| bad(e.to_string()))?;
            let (w, h) = reader.info().size();
            if let Some(e) = big(w, h) {
                return Err(e);
            }
            // Row by row: the whole picture is read, never held.
            while reader.next_row().map_err(|e| bad(e.to_string()))?.is_some() {}
            (w, h)
        }
        "image/jpeg" => {
            let options = zune_jpeg::zune_core::options::DecoderOptions::default()
                .set_strict_mode(true)
                .set_num_threads(1);
            let mut decoder = zune_jpeg::JpegDecoder::new_with_options(
                zune_jpeg::zune_core::bytestream::ZCursor::new(bytes),
                options,
            );
            decoder.decode_headers().map_err(|e| bad(e.to_string()))?;
            let info = decoder.info().ok_or_else(|| bad("no header".into()))?;
            let (w, h) = (u32::from(info.width), u32::from(info.height));
            if let Some(e) = big(w, h) {
                return Err(e);
            }
            decoder.decode().map_err(|e| bad(e.to_string()))?;
            (w, h)
        }
        _ => {
            let mut decoder = image_webp::WebPDecoder::new(std::io::Cursor::new(bytes))
                .map_err(|e| bad(e.to_string()))?;
            let (w, h) = decoder.dimensions();
            if let Some(e) = big(w, h) {
                return Err(e);
            }
            let size = decoder
                .output_buffer_size()
                .ok_or_else(|| bad("too large".into()))?;
            let mut buf = vec![0; size];
            decoder
                .read_image(&mut buf)
                .map_err(|e| bad(e.to_string()))?;
            (w, h)
        }
    };
    if w == 0 || h == 0 {
        return Err(bad("it has no pixels".into()));
    }
    Ok((kind, w, h))
}

pub fn is_media_id(id: &str) -> bool {
    id.len() == 64 && id.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
}

/// Where a photo lives: `DIR/ab/abcdef…`.
pub fn path_of(dir: &Path, id: &str) -> PathBuf {
    dir.join(&id[..2]).join(id)
}

/// Writes the photo durably (fsynced, then renamed into place) and registers
/// it; returns its id.
pub async fn save(
    pool: &PgPool,
    dir: &Path,
    bytes: Vec<u8>,
    content_type: &str,
    user_id: i64,
    now: DateTime<Utc>,
) -> Result<String, std::io::Error> {
    let id = super::hex(&Sha256::digest(&bytes));
    let path = path_of(dir, &id);
    let len = bytes.len();
    let target = path.clone();
    tokio::task::spawn_blocking(move || -> std::io::Result<()> {
        if target.exists() {
            return Ok(());
        }
        let parent = target.parent().expect("media path has a parent");
        std::fs::create_dir_all(parent)?;
        let tmp = parent.join(format!(
            ".{}.{}.tmp",
            target.file_name().unwrap_or_default().to_string_lossy(),
            std::process::id()
        ));
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(&bytes)?;
        f.sync_all()?;
        std::fs::rename(&tmp, &target)?;
        std::fs::File::open(parent)?.sync_all()
    })
    .await
    .map_err(std::io::Error::other)??;
    sqlx::query(
        "WITH m AS (
             INSERT INTO media (id, content_type, bytes, uploaded_by, uploaded_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING
         )
         INSERT INTO media_uploads (media_id, user_id) VALUES ($1, $4) ON CONFLICT DO NOTHING",
    )
    .bind(&id)
    .bind(content_type)
    .bind(len as i64)
    .bind(user_id)
    .bind(now)
    .execute(pool)
    .await
    .map_err(std::io::Error::other)?;
    Ok(id)
}

/// A stored photo's type, and whether a department (`department`, user
/// `user_id`) may see it: the user uploaded it, or the photo belongs to a
/// report or an action of one of the department's cases.
pub async fn content_type_for_department(
    pool: &PgPool,
    id: &str,
    user_id: i64,
    department: &str,
) -> Result<Option<(String, bool)>, sqlx::Error> {
    sqlx::query_as(
        "SELECT m.content_type,
                EXISTS (SELECT 1 FROM media_uploads u WHERE u.media_id = m.id AND u.user_id = $2)
                OR EXISTS (SELECT 1 FROM reports r JOIN cases c ON c.id = r.case_id
                           WHERE r.photos @> ARRAY[m.id] AND c.department = $3)
                OR EXISTS (SELECT 1 FROM case_events e JOIN cases c ON c.id = e.case_id
                           WHERE e.photos @> ARRAY[m.id] AND c.department = $3)
         FROM media m WHERE m.id = $1",
    )
    .bind(id)
    .bind(user_id)
    .bind(department)
    .fetch_optional(pool)
    .await
}

pub async fn content_type(pool: &PgPool, id: &str) -> Result<Option<String>, sqlx::Error> {
    sqlx::query_scalar("SELECT content_type FROM media WHERE id = $1")
        .bind(id)
        .fetch_optional(pool)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_by_their_magic_bytes() {
        assert_eq!(sniff(b"\xFF\xD8\xFF\xE0rest"), Some("image/jpeg"));
        assert_eq!(sniff(b"\x89PNG\r\n\x1a\n...."), Some("image/png"));
        assert_eq!(sniff(b"RIFF\0\0\0\0WEBPVP8 "), Some("image/webp"));
        assert_eq!(sniff(b"GIF89a"), None);
        assert_eq!(sniff(b"RIFF\0\0\0\0WAVE"), None);
        assert_eq!(sniff(b""), None);
    }

    /// A `w`×`h` grey PNG.
    pub fn png(w: u32, h: u32, grey: u8) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, w, h);
        encoder.set_color(png::ColorType::Grayscale);
        let mut writer = encoder.write_header().unwrap();
        writer
            .write_image_data(&vec![grey; (w * h) as usize])
            .unwrap();
        writer.finish().unwrap();
        out
    }

    #[test]
    fn pictures_are_decoded_whole() {
        assert_eq!(check_picture(&png(3, 2, 7)).unwrap(), ("image/png", 3, 2));
        let jpeg = std::fs::read("tests/fixtures/python.jpg").unwrap();
        assert_eq!(check_picture(&jpeg).unwrap(), ("image/jpeg", 16, 16));
        let webp = std::fs::read("tests/fixtures/python.webp").unwrap();
        assert_eq!(check_picture(&webp).unwrap().0, "image/webp");

        // Only the magic bytes, or a picture cut short: refused.
        let mut fake = b"\x89PNG\r\n\x1a\n".to_vec();
        fake.extend_from_slice(&[0; 100]);
        assert!(matches!(
            check_picture(&fake),
            Err(PictureError::Undecodable { .. })
        ));
        let whole = png(64, 64, 1);
        assert!(check_picture(&whole[..whole.len() - 20]).is_err());
        assert!(check_picture(&jpeg[..jpeg.len() / 2]).is_err());
        assert!(check_picture(&webp[..webp.len() / 2]).is_err());
        assert!(matches!(
            check_picture(b"GIF89a"),
            Err(PictureError::UnknownType)
        ));
    }

    proptest::proptest! {
        /// Whatever follows the magic bytes: an answer, never a panic.
        #[test]
        fn any_bytes_get_an_answer(magic in 0usize..3, tail in proptest::collection::vec(proptest::num::u8::ANY, 0..400)) {
            let mut bytes = [&b"\x89PNG\r\n\x1a\n"[..], b"\xFF\xD8\xFF", b"RIFF\0\0\0\0WEBPVP8 "][magic].to_vec();
            bytes.extend_from_slice(&tail);
            let _ = check_picture(&bytes);
        }
    }
}
