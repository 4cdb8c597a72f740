//! Files that a crash leaves whole: after a power cut a reader finds either the old content or
//! the new one, never a mix, a truncated file or a key readable by others for a moment.
//!
//! Every state file, key, model and log watermark ensuresec writes goes through here, so that
//! each one gets the same care:
//! 1. a temporary file with an unpredictable name is created beside the target, owner-only and
//!    exclusively (no one can read a secret while it is being written, nor plant a link there);
//! 2. the caller writes into it;
//! 3. it gets its final mode and is synced;
//! 4. it is renamed over the target ([`replace`]) or linked to a name that must not exist yet
//!    ([`create_new`]);
//! 5. the folder is synced, so that the new name itself survives a crash.
//!
//! On any failure the temporary file is removed and the target is as it was. A crash in the
//! middle leaves the temporary file, which [`remove_leftovers`] removes at the next start.
//!
//! A folder that more than one process changes (a state folder, an issuer's folder) is changed
//! under its [`lock_folder`], which also sweeps what an interrupted write left there.
//!
//! Architecture invariant: this crate knows nothing of what it writes; it only writes files.

mod error;
mod lock;
mod write;

pub use error::WriteError;
pub use lock::{LOCK_FILE, Lock, lock_folder, try_lock_file};
pub use write::{
    create_new, folder_of, remove_leftovers, replace, replace_with, sync_dir, temporary_in,
};
