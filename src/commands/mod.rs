//! Wires a parsed command line to the work: logging, configs, plan, report, execution.
//! Returns the exit status; `main` is the only place that exits.

pub mod bucket_policy;
pub mod cli;
mod jobs;
pub mod metrics;
pub mod notify;
pub mod prepare;
mod review;
pub mod summary;

use std::path::PathBuf;

use anyhow::{Context, Result, anyhow};
use clap::CommandFactory;

use crate::clock::Clock;
use crate::commands::cli::{Cli, Command, Common, GzipArgs, RunArgs};
use crate::commands::summary::{ItemSummary, RunSummary};
use crate::config::{Settings, load_settings_or_fatal};
use crate::exit::{EXIT_ITEM_FAILED, EXIT_OK, EXIT_USAGE, Fatal};
use crate::plan;
use crate::plan::facts;
use crate::plan::report::{self, Category};
use crate::process::{gpg, interrupt};
use crate::store::ReadStore;

/// Where positional NAMEs are looked up (`/etc/s3napback`, or `S3NAPBACK_CONFIG_DIR`).
fn config_dir() -> PathBuf {
    std::env::var_os("S3NAPBACK_CONFIG_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/etc/s3napback"))
}

/// The config files of a run: `-c` first, then each NAME as `DIR/NAME.conf` or `DIR/NAME`.
fn config_files(common: &Common, names: &[String]) -> Result<Vec<PathBuf>, Fatal> {
    let mut files: Vec<PathBuf> = common.config.iter().cloned().collect();
    let dir = config_dir();
    for name in names {
        let with_ext = dir.join(format!("{name}.conf"));
        let plain = dir.join(name);
        if with_ext.is_file() {
            files.push(with_ext);
        } else if plain.is_file() {
            files.push(plain);
        } else {
            return Err(Fatal(format!(
                "{name}: neither {} nor {} exists",
                with_ext.display(),
                plain.display()
            )));
        }
    }
    if files.is_empty() {
        return Err(Fatal(
            "no configuration given: use -c FILE or a NAME (see -h)".into(),
        ));
    }
    Ok(files)
}

/// Runs a read-only check on every config file (`-c FILE`, then each NAME); one exit
/// status for all, the worst. A config that cannot be checked (its bucket unreachable)
/// is reported and the others are still checked; with one config its error is the
/// command's.
fn each_config(
    common: &Common,
    names: &[String],
    check: impl Fn(&std::path::Path) -> anyhow::Result<u8>,
) -> anyhow::Result<u8> {
    let files = config_files(common, names)?;
    if let [one] = files.as_slice() {
        return check(one);
    }
    let mut code = EXIT_OK;
    for file in &files {
        match check(file) {
            Ok(c) => code = code.max(c),
            Err(e) => {
                log::error!(target: Category::Main.target(), "{}: {e:#}", file.display());
                let severity = if e.downcast_ref::<Fatal>().is_some() {
                    EXIT_USAGE
                } else {
                    EXIT_ITEM_FAILED
                };
                code = code.max(severity);
            }
        }
    }
    Ok(code)
}

/// Sets up logging from the log configuration (LEGACY.md §11).
fn init_logging(common: &Common) -> Result<(), Fatal> {
    let spec = match crate::logconfig::find(common.logconfig.as_deref()) {
        Some(path) => {
            Some(crate::logconfig::load(&path).map_err(|e| Fatal(format!("{:#}", anyhow!(e))))?)
        }
        None => None,
    };
    let warnings = crate::logconfig::init(spec.as_ref(), common.debug)
        .map_err(|e| Fatal(format!("{:#}", anyhow!(e))))?;
    for w in warnings {
        log::warn!(target: Category::Main.target(), "{w}");
    }
    Ok(())
}

fn fatal(message: &str) {
    log::error!(target: Category::Main.target(), fatal = true; "{message}");
}

/// `s3napback gzip`: a pipeline stage, so its only output besides the data is a line on
/// stderr when it fails.
fn compress(args: &GzipArgs) -> u8 {
    match crate::process::gzip::run(args.level, args.threads) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("s3napback gzip: {e}");
            EXIT_ITEM_FAILED
        }
    }
}

/// Runs the command line; returns the exit status.
pub fn run(cli: Cli, clock: Option<Clock>) -> u8 {
    if cli.short_help {
        let _ = Cli::command().print_help();
        return EXIT_USAGE;
    }
    match &cli.command {
        Some(Command::Completions(a)) => return print_completions(a.shell),
        Some(Command::Man(_)) => return print_man(),
        Some(Command::Gzip(a)) => return compress(a),
        _ => {}
    }
    let common = match &cli.command {
        None => &cli.run.common,
        Some(command) => command.common(),
    };
    if let Err(e) = init_logging(common) {
        eprintln!("s3napback: {e}");
        return EXIT_USAGE;
    }
    let code = run_logged(&cli, clock);
    // One mail per e-mail appender, after everything else was logged (also after a failure).
    for e in crate::logconfig::send_mail() {
        log::error!(target: Category::Main.target(), "{e}");
    }
    code
}

/// Prints the completion script of `shell` to stdout.
fn print_completions(shell: clap_complete::Shell) -> u8 {
    clap_complete::generate(
        shell,
        &mut Cli::command(),
        "s3napback",
        &mut std::io::stdout(),
    );
    EXIT_OK
}

/// Prints the manual page (roff) to stdout.
fn print_man() -> u8 {
    match clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout()) {
        Ok(()) => EXIT_OK,
        Err(e) => {
            eprintln!("s3napback: writing the manual page: {e}");
            EXIT_ITEM_FAILED
        }
    }
}

/// Runs the command once logging works; returns the exit status.
fn run_logged(cli: &Cli, clock: Option<Clock>) -> u8 {
    let common = match &cli.command {
        None => &cli.run.common,
        Some(command) => command.common(),
    };
    let clock = match clock {
        Some(c) => c,
        None => match common.now.as_deref().map(Clock::at_local) {
            Some(Ok(c)) => c,
            Some(Err(e)) => {
                fatal(&format!("{e:#}"));
                return EXIT_USAGE;
            }
            None => Clock::system(),
        },
    };
    let outcome = match &cli.command {
        None => Ok(backup_run(&cli.run, &clock)),
        Some(Command::List(a)) => config_files(&a.common, &a.args.names)
            .map_err(anyhow::Error::from)
            .and_then(|files| crate::inspect::list::run_all(&a.args, &files, &clock)),
        Some(Command::Restore(a)) => {
            crate::restore::run(&a.args, a.common.config.as_deref(), &clock)
        }
        Some(Command::Cat(a)) => {
            crate::restore::run_cat(&a.args, a.common.config.as_deref(), &clock)
        }
        Some(Command::Verify(a)) => each_config(&a.common, &a.args.names, |file| {
            crate::inspect::verify::run(&a.args, Some(file), &clock)
        }),
        Some(Command::Status(a)) if a.args.prometheus => config_files(&a.common, &a.args.names)
            .map_err(anyhow::Error::from)
            .and_then(|files| crate::commands::metrics::status(&a.args, &files, &clock)),
        Some(Command::Status(a)) => each_config(&a.common, &a.args.names, |file| {
            crate::inspect::status::run(&a.args, Some(file), &clock)
        }),
        Some(Command::PrepareBucket(a)) => {
            crate::commands::prepare::run(&a.args, a.common.config.as_deref())
        }
        Some(Command::Completions(_) | Command::Man(_) | Command::Gzip(_)) => Ok(EXIT_OK),
    };
    match outcome {
        Ok(code) => code,
        Err(e) => {
            fatal(&format!("{e:#}"));
            if e.downcast_ref::<Fatal>().is_some() {
                EXIT_USAGE
            } else {
                EXIT_ITEM_FAILED
            }
        }
    }
}

/// The legacy backup run, then its summary: INFO lines, `--json`, `NotifyCommand`s.
fn backup_run(args: &RunArgs, clock: &Clock) -> u8 {
    let mut summary = RunSummary::new(args.test);
    let mut notify = Vec::new();
    let mut metrics = Vec::new();
    let code = match backup_configs(args, clock, &mut summary, &mut notify, &mut metrics) {
        Ok(code) => code,
        Err(e) => {
            fatal(&format!("{e:#}"));
            summary.failures.push(format!("{e:#}"));
            EXIT_USAGE
        }
    };
    summary.finish(code);
    let json = summary.to_json();
    // Test mode keeps the legacy output and changes nothing, so it notifies nobody.
    if !args.test {
        summary.log();
        write_metrics(&metrics, &summary, code, clock);
        crate::commands::notify::notify_all(&notify, &json, code);
    }
    if args.json {
        println!("{json}");
    }
    code
}

/// Writes each `MetricsFile` of the run (`(config, file)`): the items of the configs
/// that name it. A failure is logged; it does not change the exit status.
fn write_metrics(targets: &[(String, PathBuf)], summary: &RunSummary, code: u8, clock: &Clock) {
    let mut files: Vec<&PathBuf> = targets.iter().map(|(_, f)| f).collect();
    files.sort();
    files.dedup();
    for file in files {
        let configs: Vec<&str> = targets
            .iter()
            .filter(|(_, f)| f == file)
            .map(|(c, _)| c.as_str())
            .collect();
        let items: Vec<_> = summary
            .items
            .iter()
            .filter(|i| configs.contains(&i.config.as_str()))
            .collect();
        let previous = std::fs::read_to_string(file).unwrap_or_default();
        let text = crate::commands::metrics::render_run(&items, code, clock.now(), &previous);
        if let Err(e) = crate::commands::metrics::write_atomically(file, &text) {
            log::error!(target: Category::Main.target(), "MetricsFile {}: {e}", file.display());
        }
    }
}

/// Every config file of the run; collects its items and `NotifyCommand`s.
fn backup_configs(
    args: &RunArgs,
    clock: &Clock,
    summary: &mut RunSummary,
    notify: &mut Vec<Vec<String>>,
    metrics: &mut Vec<(String, PathBuf)>,
) -> Result<u8, Fatal> {
    let files = config_files(&args.common, &args.names)?;
    let all: Vec<Settings> = files
        .iter()
        .map(|f| load_settings_or_fatal(f))
        .collect::<Result<_, _>>()?;
    notify.extend(all.iter().filter_map(|s| s.notify_command.clone()));
    metrics.extend(all.iter().filter_map(|s| {
        let file = s.metrics_file.clone()?;
        Some((s.path.display().to_string(), file))
    }));
    report::emit(&report::run_header(args.test, args.force));
    if !args.test {
        interrupt::install()
            .map_err(|e| Fatal(format!("installing the SIGINT/SIGTERM handler: {e:#}")))?;
        // the shortest RunTimeout of the config files bounds the whole run
        if let Some(limit) = all.iter().filter_map(|s| s.run_timeout).min() {
            interrupt::expire_after(
                limit,
                format!(
                    "the run took longer than RunTimeout ({})",
                    crate::backup::run_lock::describe_hours(limit)
                ),
            );
        }
    }
    // Each config file is a run of its own: one that cannot start does not stop the next.
    let mut code = EXIT_OK;
    for settings in &all {
        match run_config(settings, args, clock, &mut summary.items) {
            Ok(0) => {}
            Ok(_) => code = code.max(EXIT_ITEM_FAILED),
            Err(e) => {
                let error_not_fatal = e
                    .downcast_ref::<crate::backup::run_lock::LockNotTaken>()
                    .is_some()
                    || e.downcast_ref::<crate::backup::ListingFailed>().is_some()
                    || e.downcast_ref::<crate::backup::object_lock::LockUnavailable>()
                        .is_some();
                if error_not_fatal {
                    log::error!(target: Category::Main.target(), "{e:#}");
                } else {
                    fatal(&format!("{e:#}"));
                }
                summary
                    .failures
                    .push(format!("{}: {e:#}", settings.path.display()));
                let severity = if e.downcast_ref::<Fatal>().is_some() {
                    EXIT_USAGE
                } else {
                    EXIT_ITEM_FAILED
                };
                code = code.max(severity);
            }
        }
        if interrupt::requested() {
            // past RunTimeout the items not started are not done: the run failed
            if interrupt::expired().is_some() {
                code = code.max(EXIT_ITEM_FAILED);
            }
            break;
        }
    }
    Ok(interrupt::exit_status().unwrap_or(code))
}

/// One config file: gpg check, bucket listing, plan, then each job (added to `items`).
/// Returns the number of failed items.
fn run_config(
    settings: &Settings,
    args: &RunArgs,
    clock: &Clock,
    items: &mut Vec<ItemSummary>,
) -> Result<usize> {
    for w in &settings.warnings {
        log::warn!(target: Category::Main.target(), "{w}");
    }
    // Test mode keeps the legacy output byte for byte.
    if !args.test {
        for w in &settings.secret_warnings {
            log::warn!(target: Category::Main.target(), "{w}");
        }
    }
    if let Some(recipient) = &settings.gpg_recipient {
        gpg::check_recipient(recipient, settings.gpg_keyring.as_deref())
            .map_err(|e| Fatal(e.to_string()))?;
    }
    // One run per DiffDir at a time; the lock dies with the process (no stale locks).
    let _lock = if args.test {
        None
    } else {
        let lock = crate::backup::run_lock::lock_diff_dir(&settings.diff_dir, settings.lock_wait)?;
        crate::backup::run_lock::record_holder(&lock, clock.now());
        Some(lock)
    };
    let today = clock
        .today()
        .format(time::macros::format_description!("[year]-[month]-[day]"))
        .context("formatting today's date")?;
    let store = match crate::store::open::open_store(settings) {
        Ok(store) => Some(store),
        Err(e) if args.test => {
            log::debug!(target: Category::Main.target(), "bucket {}: {e:#}", settings.bucket);
            None
        }
        Err(e) => return Err(anyhow!(Fatal(format!("bucket {}: {e:#}", settings.bucket)))),
    };
    // Test mode stays read-only by type: it gets only the read side of the store.
    let writable = store.as_deref().filter(|_| !args.test);
    let readable = store.as_deref().map(|s| -> &dyn ReadStore { s });
    if let Some(store) = writable {
        crate::backup::object_lock::check_bucket(store, settings)?;
    }
    let listing = crate::backup::list_bucket(readable, settings, args.test)?;
    let (listing, tampered) =
        crate::backup::finish_interrupted_commits(writable, settings, listing)?;
    // A real run may ask the server (a probe object).
    let key_style = match writable {
        Some(store) => store
            .key_style()
            .unwrap_or_else(|_| facts::key_style_from_listing(&listing)),
        None => facts::key_style_from_listing(&listing),
    };
    // a real run ignores its items' keys outside their cycles (the review names them)
    let planning = if args.test {
        listing.clone()
    } else {
        let items =
            crate::journal::items::journal_items(settings, &Default::default(), clock.day());
        crate::journal::check::within_cycles(&items, &listing)
    };
    let mut facts = facts::gather(
        settings,
        clock,
        args.force,
        &planning,
        key_style,
        &crate::restore::chain::current_chain,
    );
    let journals = crate::journal::items::journal_items(settings, &facts, clock.day());
    // the journals judge a real run's bucket; test mode reads it as the legacy did
    let problems = if args.test {
        0
    } else {
        tampered + review::review(settings, &journals, &listing, clock, &mut facts)
    };
    let done: Vec<String> = facts.done_today.iter().cloned().collect();
    report::emit(&report::bucket_header(&settings.bucket, &today, &done));
    let mut plan = plan::plan(settings, &facts);
    // Lock dates run on the server's clock; a host clock far off it stores nothing.
    if let (Some(store), Some(_)) = (writable, &settings.object_lock) {
        let server = store
            .server_time()
            .map_err(|e| crate::store::error_chain(&e));
        crate::backup::object_lock::anchor_to_server(&mut plan, clock.now(), server);
    }
    let collisions = crate::config::collisions::of(settings);
    if !args.test {
        for repeat in &collisions.repeats {
            log::warn!(target: Category::Main.target(), "{repeat}");
        }
    }
    let failed = jobs::run_jobs(
        settings,
        &plan,
        &collisions,
        writable.filter(|_| !args.test),
        &listing,
        &journals,
        items,
    )?;
    Ok(failed + problems)
}
