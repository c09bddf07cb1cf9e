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
        "INSERT INTO media (id, content_type, bytes, uploaded_by, uploaded_at)
         VALUES ($1, $2, $3, $4, $5) ON CONFLICT (id) DO NOTHING",
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
}
