//! What the read-only commands (list, restore, cat, verify, status) start from: one config
//! file's settings, a connection to its bucket, and the bucket's slots.

use std::path::Path;

use anyhow::{Context, Result, anyhow};

use crate::config::{Settings, load_settings_for_reading};
use crate::exit::Fatal;
use crate::plan::facts::key_style_from_listing;
use time::OffsetDateTime;

use crate::store::ReadStore;
use crate::store::as_of::AsOf;
use crate::store::keys::{KeyStyle, Slot, group_slots};

/// A config file and the current contents of its bucket.
pub struct Inventory {
    pub settings: Settings,
    /// The bucket, every request retried.
    pub store: Box<dyn ReadStore>,
    /// How the server spells keys (judged from the listing, read-only).
    pub key_style: KeyStyle,
    /// Every slot in the bucket, sorted by prefix.
    pub slots: Vec<Slot>,
}

/// The store as of `at` when the bucket keeps versions (see [`Inventory::open_as_of`]).
fn as_of(
    store: Box<dyn ReadStore>,
    settings: &Settings,
    at: OffsetDateTime,
) -> Result<Box<dyn ReadStore>> {
    let versions = match store.list_versions("") {
        Ok(versions) => versions,
        Err(e) if settings.object_lock.is_none() => {
            log::debug!(
                "bucket {}: no versions to read ({e}); reading it as it is",
                settings.bucket
            );
            return Ok(store);
        }
        Err(e) => {
            return Err(e)
                .with_context(|| format!("listing the versions of bucket {}", settings.bucket));
        }
    };
    if versions.iter().all(|v| v.version_id == "null") {
        return Ok(store);
    }
    let view = AsOf::new(store, &versions, at)
        .with_context(|| format!("reading the commit records of bucket {}", settings.bucket))?;
    Ok(Box::new(view))
}

impl Inventory {
    /// Loads `-c FILE` (`config`), connects and lists the whole bucket.
    pub fn open(config: Option<&Path>) -> Result<Inventory> {
        Inventory::open_as_of(config, None)
    }

    /// Like [`Inventory::open`]; with `at`, on a versioned bucket, the bucket as it was
    /// before `at` ([`AsOf`]: the versions this tool wrote). A bucket without versions is
    /// read as it is (the readers select by date themselves); with `ObjectLockMode` set,
    /// failing to list the versions is an error.
    pub fn open_as_of(config: Option<&Path>, at: Option<OffsetDateTime>) -> Result<Inventory> {
        let path = config.ok_or_else(|| anyhow!(Fatal("this command needs -c FILE".into())))?;
        let settings = load_settings_for_reading(path)?;
        for w in settings.warnings.iter().chain(&settings.secret_warnings) {
            log::warn!("{w}");
        }
        let mut store: Box<dyn ReadStore> = crate::store::open::open_store(&settings)?;
        if let Some(at) = at {
            store = as_of(store, &settings, at)?;
        }
        let listing = store
            .list("")
            .with_context(|| format!("listing bucket {}", settings.bucket))?;
        let key_style = key_style_from_listing(&listing);
        Ok(Inventory {
            settings,
            store,
            key_style,
            slots: group_slots(listing),
        })
    }

    /// How the server spells a logical name.
    pub fn physical(&self, logical: &str) -> String {
        self.key_style.apply(logical)
    }

    /// The slot with this prefix (logical or as listed).
    pub fn slot(&self, prefix: &str) -> Option<&Slot> {
        let physical = self.physical(prefix);
        self.slots
            .iter()
            .find(|s| s.prefix == prefix || s.prefix == physical)
    }
}
