//! DiffDir state files (tar `-g` snapshots, Subversion revision files): work on a copy,
//! commit by rename only after success.
