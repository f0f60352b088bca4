//! Server configuration: defaults, then a TOML file, then `RECALL_LAB_*` environment variables,
//! then command-line flags (later sources win).

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServeConfig {
    /// Listen address; loopback unless told otherwise.
    pub addr: SocketAddr,
    pub data_dir: PathBuf,
    /// Trunk's output with the browser app.
    pub dist_dir: PathBuf,
    /// Bearer token for `/api/admin/*`; admin endpoints are off without one.
    pub admin_token: Option<String>,
    /// Origins allowed by CORS; empty means CORS is off (same-origin only).
    pub cors_origins: Vec<String>,
    pub body_limit_bytes: usize,
    /// The largest catalog CSV the admin may upload (`PUT /api/catalogs/{name}/source`).
    pub upload_limit_bytes: usize,
    /// Where the catalogs brought in through the app live, a data dir each
    /// (default: DATA_DIR/catalogs).
    pub catalogs_dir: Option<PathBuf>,
    pub request_timeout_ms: u64,
    /// SQLite connections in the pool.
    pub pool_size: u32,
    /// MiB of the database the recall's enrichment reader memory-maps: faster row reads, and
    /// up to that much more resident memory (see `catalog::reader`).
    pub reader_map_mb: u64,
    /// At most this many CPU-bound requests run at once; others wait their turn. The runtime
    /// gets one worker thread more, so light requests never wait behind them.
    pub max_concurrent_work: usize,
    /// A folder with another ONNX sentence model (must be the one the index was built with).
    pub model_dir: Option<PathBuf>,
    /// Whose code runs the index search's coarse step and list scan: `engine` (the project's
    /// kernels) or `faiss`; unset, the faster one for this CPU.
    pub search_kernels: Option<crate::index::SearchKernels>,
    /// Seconds between checks of the click log; when it has moved on (or the build changed),
    /// the CF model is rebuilt in the background. 0: only at start-up.
    pub cf_refresh_secs: u64,
    /// Neighbours the CF model keeps per item (see `cf`).
    pub cf_k: usize,
    /// Users who must have clicked both items of a CF pair.
    pub cf_min_support: u32,
    /// Most recently clicked distinct items of a user that count in CF.
    pub cf_max_user_items: usize,
    /// Half-life of a click's CF weight in days; unset, clicks never fade.
    pub cf_half_life_days: Option<f64>,
}

impl ServeConfig {
    /// How the server builds its CF model.
    pub fn cf_options(&self) -> crate::cf::CfOptions {
        crate::cf::CfOptions {
            k: self.cf_k,
            min_support: self.cf_min_support,
            max_user_items: self.cf_max_user_items,
            half_life_days: self.cf_half_life_days,
        }
    }
}

impl Default for ServeConfig {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        let cf = crate::cf::CfOptions::default();
        ServeConfig {
            addr: SocketAddr::from(([127, 0, 0, 1], 8080)),
            data_dir: PathBuf::from("data"),
            dist_dir: PathBuf::from("dist"),
            admin_token: None,
            cors_origins: Vec::new(),
            body_limit_bytes: 64 * 1024,
            upload_limit_bytes: 256 << 20,
            catalogs_dir: None,
            request_timeout_ms: 30_000,
            pool_size: 8,
            reader_map_mb: default_reader_map_mb(),
            max_concurrent_work: cores * 2,
            model_dir: None,
            search_kernels: None,
            cf_refresh_secs: 30,
            cf_k: cf.k,
            cf_min_support: cf.min_support,
            cf_max_user_items: cf.max_user_items,
            cf_half_life_days: cf.half_life_days,
        }
    }
}

fn default_reader_map_mb() -> u64 {
    crate::catalog::DEFAULT_READER_MAP_BYTES >> 20
}

/// Flags given on the command line: only those set override the other sources.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ServeOverrides {
    #[serde(skip_serializing_if = "Option::is_none")]
    pub addr: Option<SocketAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dist_dir: Option<PathBuf>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model_dir: Option<PathBuf>,
}

impl ServeConfig {
    /// Layers the sources; `file` is optional (`recall-lab.toml` in the working folder is read
    /// when present and no file is named).
    pub fn load(
        file: Option<&Path>,
        overrides: &ServeOverrides,
    ) -> Result<Self, Box<figment::Error>> {
        let default_file = Path::new("recall-lab.toml");
        let mut fig = Figment::from(Serialized::defaults(ServeConfig::default()));
        match file {
            Some(f) => fig = fig.merge(Toml::file_exact(f)),
            None if default_file.exists() => fig = fig.merge(Toml::file_exact(default_file)),
            None => {}
        }
        fig = fig.merge(Env::prefixed("RECALL_LAB_").only(&[
            "addr",
            "data_dir",
            "dist_dir",
            "admin_token",
            "cors_origins",
            "body_limit_bytes",
            "upload_limit_bytes",
            "catalogs_dir",
            "request_timeout_ms",
            "pool_size",
            "reader_map_mb",
            "max_concurrent_work",
            "model_dir",
            "search_kernels",
            "cf_refresh_secs",
            "cf_k",
            "cf_min_support",
            "cf_max_user_items",
            "cf_half_life_days",
        ]));
        fig = fig.merge(Serialized::globals(overrides));
        fig.extract().map_err(Box::new)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API fixes the error type
    fn later_sources_win() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "c.toml",
                "pool_size = 3\nrequest_timeout_ms = 5\naddr = \"127.0.0.1:9000\"",
            )?;
            jail.set_env("RECALL_LAB_POOL_SIZE", "7");
            jail.set_env("RECALL_LAB_ADMIN_TOKEN", "secret");
            let o = ServeOverrides {
                addr: Some("127.0.0.1:9100".parse().unwrap()),
                ..Default::default()
            };
            let c = ServeConfig::load(Some(Path::new("c.toml")), &o).map_err(|e| e.to_string())?;
            assert_eq!(c.request_timeout_ms, 5); // file over default
            assert_eq!(c.pool_size, 7); // env over file
            assert_eq!(c.admin_token.as_deref(), Some("secret"));
            assert_eq!(c.addr.port(), 9100); // flag over file
            assert_eq!(c.body_limit_bytes, 64 * 1024); // default
            Ok(())
        });
    }
}
