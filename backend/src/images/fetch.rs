//! `recall-lab images fetch`: downloads each product's `imgUrl` into the cache as a JPEG
//! thumbnail, with bounded concurrency, timeouts, retries with backoff, a size cap and a decode
//! check; resumable (cached and failed products are skipped), with every failure by asin.

use super::{ImageStore, Source, record_ok};
use crate::error::{Error, Result};
use crate::layout::Layout;
use futures::StreamExt;
use rusqlite::{Connection, params};
use std::time::{Duration, Instant};

/// How `fetch_missing` downloads.
#[derive(Debug, Clone)]
pub struct FetchOptions {
    /// Downloads in flight at once.
    pub concurrency: usize,
    /// Time allowed for one attempt (connect, headers and body).
    pub timeout: Duration,
    /// Further attempts after a timeout, a connection error, a 429 or a 5xx.
    pub retries: u32,
    /// Wait before the first retry; doubled before each next one.
    pub backoff: Duration,
    /// Larger originals are refused without being read to the end.
    pub max_bytes: u64,
    /// The longest side of a thumbnail, in pixels.
    pub thumb_side: u32,
    /// Try again the products an earlier run failed on.
    pub retry_failed: bool,
}

impl Default for FetchOptions {
    fn default() -> Self {
        FetchOptions {
            concurrency: 8,
            timeout: Duration::from_secs(10),
            retries: 2,
            backoff: Duration::from_millis(500),
            max_bytes: 5 << 20,
            thumb_side: 320,
            retry_failed: false,
        }
    }
}

/// Why a product's image could not be cached.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FailureKind {
    /// The URL is not an http(s) URL.
    BadUrl,
    /// The host answered 404 or 410.
    NotFound,
    /// Any other error status (after the retries, for a 429 or a 5xx).
    HttpStatus,
    /// No complete answer within the timeout, on every attempt.
    Timeout,
    /// The host could not be reached, on every attempt.
    Connect,
    /// Larger than `max_bytes`.
    TooLarge,
    /// The answer's content type is not an image.
    NotAnImage,
    /// Says it is an image but does not decode as one.
    BadImage,
}

impl FailureKind {
    const ALL: [FailureKind; 8] = [
        FailureKind::BadUrl,
        FailureKind::NotFound,
        FailureKind::HttpStatus,
        FailureKind::Timeout,
        FailureKind::Connect,
        FailureKind::TooLarge,
        FailureKind::NotAnImage,
        FailureKind::BadImage,
    ];

    pub fn parse(s: &str) -> Option<FailureKind> {
        Self::ALL.into_iter().find(|k| k.as_str() == s)
    }

    pub fn as_str(self) -> &'static str {
        match self {
            FailureKind::BadUrl => "bad_url",
            FailureKind::NotFound => "not_found",
            FailureKind::HttpStatus => "http_status",
            FailureKind::Timeout => "timeout",
            FailureKind::Connect => "connect",
            FailureKind::TooLarge => "too_large",
            FailureKind::NotAnImage => "not_an_image",
            FailureKind::BadImage => "bad_image",
        }
    }
}

/// One product whose image could not be cached.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Failure {
    pub asin: String,
    pub url: String,
    pub kind: FailureKind,
    pub detail: String,
    pub attempts: u32,
}

/// What `fetch_missing` did.
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct FetchReport {
    /// Products with an image URL.
    pub with_url: usize,
    /// Downloaded and cached by this run.
    pub fetched: usize,
    /// Already cached before this run.
    pub already_cached: usize,
    /// Failed in an earlier run and not tried again (`retry_failed` tries them).
    pub earlier_failures: usize,
    /// Failed in this run, by asin.
    pub failures: Vec<Failure>,
    pub seconds: f64,
}

struct Job {
    asin: String,
    url: String,
}

type Outcome = std::result::Result<(Vec<u8>, u32), (FailureKind, String, u32)>;

/// Caches the image of every product with an `imgUrl` and none cached yet. `progress` is called
/// with (done, to do) after each product.
pub async fn fetch_missing(
    layout: &Layout,
    opts: &FetchOptions,
    progress: &(dyn Fn(usize, usize) + Sync),
) -> Result<FetchReport> {
    let _lock = layout.lock_writer()?;
    let started = Instant::now();
    let mut c = crate::catalog::open(&layout.db())?;
    let mut report = FetchReport::default();
    let store = ImageStore::new(layout);
    let mut jobs = Vec::new();
    {
        let mut stmt = c.prepare(
            "SELECT p.asin, p.imgUrl, i.status FROM amazon_products p
             LEFT JOIN product_images i ON i.asin = p.asin
             WHERE coalesce(p.imgUrl, '') != '' ORDER BY p.rowid",
        )?;
        let mut rows = stmt.query([])?;
        while let Some(r) = rows.next()? {
            report.with_url += 1;
            let status: Option<String> = r.get(2)?;
            let asin: String = r.get(0)?;
            match status.as_deref() {
                // A picture recorded as cached whose file has gone is fetched again.
                Some("ok") if store.has(&asin) => report.already_cached += 1,
                Some("failed") if !opts.retry_failed => report.earlier_failures += 1,
                _ => jobs.push(Job {
                    asin,
                    url: r.get(1)?,
                }),
            }
        }
    }
    let client = reqwest::Client::builder()
        .timeout(opts.timeout)
        .connect_timeout(opts.timeout)
        .user_agent(concat!("recall-lab/", env!("CARGO_PKG_VERSION")))
        .build()
        .map_err(|e| Error::Http(e.to_string()))?;
    let total = jobs.len();
    let mut outcomes = futures::stream::iter(jobs)
        .map(|job| {
            let client = client.clone();
            let opts = opts.clone();
            async move {
                let outcome = fetch_one(&client, &job.url, &opts).await;
                (job, outcome)
            }
        })
        .buffer_unordered(opts.concurrency.max(1));
    let mut done = 0;
    // Every outcome is recorded as it arrives, so an interrupted run resumes where it stopped.
    while let Some((job, outcome)) = outcomes.next().await {
        match outcome {
            Ok((jpeg, _)) => {
                store.store(&job.asin, "jpg", &jpeg)?;
                record_ok(&c, &job.asin, Source::Fetched, &job.url, jpeg.len())?;
                report.fetched += 1;
            }
            Err((kind, detail, attempts)) => {
                // One line, so the report and failures.csv read one failure per line.
                let detail = detail.split_whitespace().collect::<Vec<_>>().join(" ");
                record_failure(&mut c, &job, kind, &detail, attempts)?;
                report.failures.push(Failure {
                    asin: job.asin,
                    url: job.url,
                    kind,
                    detail,
                    attempts,
                });
            }
        }
        done += 1;
        progress(done, total);
    }
    report.failures.sort_by(|a, b| a.asin.cmp(&b.asin));
    super::write_failures(layout, &super::failures(&c)?)?;
    report.seconds = started.elapsed().as_secs_f64();
    Ok(report)
}

fn record_failure(
    c: &mut Connection,
    job: &Job,
    kind: FailureKind,
    detail: &str,
    attempts: u32,
) -> Result<()> {
    c.execute(
        "INSERT INTO product_images (asin, source, status, url, bytes, failure, detail, attempts, updated_at)
         VALUES (?1, 'fetched', 'failed', ?2, NULL, ?3, ?4, ?5, ?6)
         ON CONFLICT(asin) DO UPDATE SET source = 'fetched', status = 'failed', url = ?2, bytes = NULL,
             failure = ?3, detail = ?4, attempts = ?5, updated_at = ?6",
        params![
            job.asin,
            job.url,
            kind.as_str(),
            detail,
            attempts,
            crate::util::now_millis()
        ],
    )?;
    Ok(())
}

/// Downloads one URL (with retries) and turns it into a thumbnail.
async fn fetch_one(client: &reqwest::Client, url: &str, opts: &FetchOptions) -> Outcome {
    if !(url.starts_with("http://") || url.starts_with("https://")) {
        return Err((FailureKind::BadUrl, "not an http(s) URL".into(), 0));
    }
    let mut attempt = 0;
    loop {
        attempt += 1;
        match download(client, url, opts.max_bytes).await {
            Ok(bytes) => {
                let side = opts.thumb_side;
                return tokio::task::spawn_blocking(move || thumbnail(&bytes, side))
                    .await
                    .unwrap_or_else(|e| Err((FailureKind::BadImage, e.to_string())))
                    .map(|jpeg| (jpeg, attempt))
                    .map_err(|(k, d)| (k, d, attempt));
            }
            Err((kind, detail, retry)) => {
                if !retry || attempt > opts.retries {
                    return Err((kind, detail, attempt));
                }
                tokio::time::sleep(opts.backoff * 2u32.pow(attempt - 1)).await;
            }
        }
    }
}

/// One attempt: the body, or the failure and whether another attempt may help.
async fn download(
    client: &reqwest::Client,
    url: &str,
    max_bytes: u64,
) -> std::result::Result<Vec<u8>, (FailureKind, String, bool)> {
    let transport = |e: reqwest::Error| {
        if e.is_timeout() {
            (FailureKind::Timeout, "timed out".to_owned(), true)
        } else if e.is_connect() {
            (FailureKind::Connect, "could not connect".to_owned(), true)
        } else {
            (FailureKind::Connect, e.to_string(), true)
        }
    };
    let mut resp = client.get(url).send().await.map_err(transport)?;
    let status = resp.status();
    if status == reqwest::StatusCode::NOT_FOUND || status == reqwest::StatusCode::GONE {
        return Err((
            FailureKind::NotFound,
            format!("HTTP {}", status.as_u16()),
            false,
        ));
    }
    if !status.is_success() {
        let retry = status.is_server_error() || status == reqwest::StatusCode::TOO_MANY_REQUESTS;
        return Err((
            FailureKind::HttpStatus,
            format!("HTTP {}", status.as_u16()),
            retry,
        ));
    }
    let content_type = resp
        .headers()
        .get(reqwest::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_ascii_lowercase();
    if !content_type.starts_with("image/") {
        let shown = if content_type.is_empty() {
            "none"
        } else {
            &content_type
        };
        return Err((
            FailureKind::NotAnImage,
            format!("content type {shown}"),
            false,
        ));
    }
    let too_large = |n: u64| {
        (
            FailureKind::TooLarge,
            format!("{n} bytes or more, over the cap of {max_bytes}"),
            false,
        )
    };
    if let Some(n) = resp.content_length().filter(|&n| n > max_bytes) {
        return Err(too_large(n));
    }
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(transport)? {
        body.extend_from_slice(&chunk);
        if body.len() as u64 > max_bytes {
            return Err(too_large(body.len() as u64));
        }
    }
    Ok(body)
}

/// Decodes an image (bounded in size, so a small file cannot expand into gigabytes) and encodes
/// its thumbnail as JPEG on white.
fn thumbnail(bytes: &[u8], side: u32) -> std::result::Result<Vec<u8>, (FailureKind, String)> {
    let bad = |e: image::ImageError| (FailureKind::BadImage, e.to_string());
    let mut reader = image::ImageReader::new(std::io::Cursor::new(bytes))
        .with_guessed_format()
        .map_err(|e| (FailureKind::BadImage, e.to_string()))?;
    let mut limits = image::Limits::default();
    limits.max_image_width = Some(12_000);
    limits.max_image_height = Some(12_000);
    limits.max_alloc = Some(256 << 20);
    reader.limits(limits);
    let img = reader.decode().map_err(bad)?;
    let thumb = img.thumbnail(side, side).to_rgba8();
    let mut rgb = image::RgbImage::new(thumb.width(), thumb.height());
    for (dst, src) in rgb.pixels_mut().zip(thumb.pixels()) {
        let a = src[3] as u32;
        for i in 0..3 {
            dst[i] = ((src[i] as u32 * a + 255 * (255 - a)) / 255) as u8;
        }
    }
    let mut out = Vec::new();
    image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85)
        .encode_image(&rgb)
        .map_err(bad)?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn thumbnails_are_bounded_jpegs_and_garbage_is_refused() {
        let img = image::RgbaImage::from_pixel(800, 400, image::Rgba([200, 30, 30, 255]));
        let mut png = Vec::new();
        img.write_to(&mut std::io::Cursor::new(&mut png), image::ImageFormat::Png)
            .unwrap();
        let jpeg = thumbnail(&png, 320).unwrap();
        let back = image::load_from_memory(&jpeg).unwrap();
        assert_eq!((back.width(), back.height()), (320, 160));
        assert_eq!(
            thumbnail(b"<html>not an image</html>", 320).unwrap_err().0,
            FailureKind::BadImage
        );
    }
}
