//! Running programs: pipelines of external programs as argument vectors (`pipeline`), the
//! signals that stop a run (`interrupt`), transfer progress (`progress`), the gpg
//! recipient check (`gpg`), whether gpg really decrypted (`gpg_status`) and the parallel
//! gzip stage (`gzip`). Used by backup, restore and `verify --deep`.

pub mod gpg;
pub mod gpg_status;
pub mod gzip;
pub mod interrupt;
pub mod pipeline;
pub mod progress;
