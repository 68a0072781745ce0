//! Running programs: pipelines of external programs as argument vectors (`pipeline`), the
//! signals that stop a run (`interrupt`), transfer progress (`progress`) and the gpg
//! recipient check (`gpg`). Used by backup, restore and `verify --deep`.

pub mod gpg;
pub mod interrupt;
pub mod pipeline;
pub mod progress;
