//! The legacy log lines (LEGACY.md §10): the run header, each job's decision, and in test
//! mode the commands a run would execute, printed exactly as the legacy printed them.
//! The only place that renders shell-looking command lines (for humans and golden files).

use log::Level;

use crate::config::ItemKind;
use crate::plan::{Decision, Job, Plan, Promotion, Run};

/// A log4perl category of the legacy tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Category {
    Main,
    Directory,
    MySql,
    PostgreSql,
    Subversion,
}

impl Category {
    /// The `log` target (log4rs hierarchy uses `::`; printed with dots).
    pub fn target(self) -> &'static str {
        match self {
            Category::Main => "Backup::S3napback",
            Category::Directory => "Backup::S3napback::Directory",
            Category::MySql => "Backup::S3napback::MySQL",
            Category::PostgreSql => "Backup::S3napback::PostgreSQL",
            Category::Subversion => "Backup::S3napback::Subversion",
        }
    }

    /// The category an item kind logs under.
    pub fn of(kind: ItemKind) -> Category {
        match kind {
            ItemKind::Directory => Category::Directory,
            ItemKind::Subversion | ItemKind::SubversionDir => Category::Subversion,
            ItemKind::MySql => Category::MySql,
            ItemKind::PostgreSql => Category::PostgreSql,
        }
    }
}

/// One log line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Line {
    pub category: Category,
    pub level: Level,
    pub text: String,
}

impl Line {
    fn new(category: Category, level: Level, text: impl Into<String>) -> Line {
        Line {
            category,
            level,
            text: text.into(),
        }
    }

    /// Sends the line to the logger.
    pub fn emit(&self) {
        log::log!(target: self.category.target(), self.level, "{}", self.text);
    }
}

/// Logs every line in order.
pub fn emit(lines: &[Line]) {
    lines.iter().for_each(Line::emit);
}

/// `Starting s3napback` and the mode warnings.
pub fn run_header(test: bool, force: bool) -> Vec<Line> {
    let mut lines = vec![Line::new(Category::Main, Level::Info, "Starting s3napback")];
    if test {
        lines.push(Line::new(
            Category::Main,
            Level::Warn,
            "TEST MODE ONLY, NO REAL ACTIONS WILL BE TAKEN",
        ));
    }
    if force {
        lines.push(Line::new(
            Category::Main,
            Level::Warn,
            "FORCE MODE; DATA MAY BE OVERWRITTEN",
        ));
    }
    lines
}

/// The bucket-listing lines of one config file.
pub fn bucket_header(bucket: &str, today: &str, done: &[String]) -> Vec<Line> {
    let mut lines = vec![
        Line::new(
            Category::Main,
            Level::Info,
            format!("Getting current contents of bucket {bucket} modified on {today}..."),
        ),
        Line::new(Category::Main, Level::Info, "Buckets already done today:"),
    ];
    lines.extend(
        done.iter()
            .map(|p| Line::new(Category::Main, Level::Info, format!("{bucket}:{p}"))),
    );
    lines
}

/// The lines that announce a job and its decision (everything but the commands).
pub fn job_lines(plan: &Plan, job: &Job) -> Vec<Line> {
    let cat = Category::of(job.kind);
    let mut lines = Vec::new();
    if let Some(block) = &job.block {
        lines.push(Line::new(
            Category::Main,
            Level::Info,
            format!("{block} => {}", job.name),
        ));
    }
    let announce = |run: &Run| {
        let kind = match job.kind {
            ItemKind::SubversionDir => ItemKind::Subversion,
            k => k,
        };
        Line::new(
            cat,
            Level::Info,
            format!(
                "{} {} -> {}:{}",
                kind.legacy_name(),
                job.display_name,
                plan.bucket,
                run.prefix
            ),
        )
    };
    match &job.decision {
        Decision::NotBackupDay => lines.push(Line::new(
            Category::Main,
            Level::Warn,
            format!("Skipping {} {}", job.kind.legacy_name(), job.name),
        )),
        Decision::AlreadyPerformedToday => {
            let text = if job.kind == ItemKind::Directory {
                format!("Skipping {}; diff was already performed today", job.name)
            } else {
                format!("Skipping {} -- was already backed up today", job.name)
            };
            lines.push(Line::new(cat, Level::Warn, text));
        }
        Decision::AlreadyDoneToday(run) => {
            lines.push(announce(run));
            lines.push(Line::new(
                cat,
                Level::Warn,
                format!(
                    "Skipping {}:{} -- already done today",
                    plan.bucket, run.prefix
                ),
            ));
        }
        // The legacy checks for new revisions before it announces the item.
        Decision::NoNewRevisions => {
            lines.push(Line::new(
                cat,
                Level::Info,
                format!(
                    "{} has no new revisions since last backup; skipping",
                    job.name
                ),
            ));
        }
        Decision::Expanded => {}
        Decision::Failed(why) => lines.push(Line::new(
            cat,
            Level::Error,
            format!("{} {}: {why}", job.kind.legacy_name(), job.name),
        )),
        Decision::Run(run) => {
            lines.extend(run.promoted.as_ref().map(|p| promotion_line(job, run, p)));
            lines.push(announce(run));
        }
        Decision::Broken { legacy, .. } => lines.push(announce(legacy)),
    }
    lines
}

/// The WARN of a DIFF day that backs up a FULL to keep the restore chain.
fn promotion_line(job: &Job, run: &Run, promotion: &Promotion) -> Line {
    Line::new(
        Category::of(job.kind),
        Level::Warn,
        format!(
            "{}: a DIFF into {} would replace the DIFF of {} that the restore chain since \
             the FULL of {} needs; backing up a FULL ({}) instead",
            job.name, promotion.diff_prefix, promotion.link.diff, promotion.link.full, run.prefix
        ),
    )
}

/// In test mode: the commands a run would execute, one line each, in the legacy form.
pub fn command_lines(plan: &Plan, job: &Job, run: &Run) -> Vec<Line> {
    let cat = Category::of(job.kind);
    let target = format!("{}:{}", plan.bucket, run.prefix);
    let source = run.source.legacy_text();
    let gpg = run
        .encryption
        .as_ref()
        .map(|e| format!("| {}", e.legacy_text()))
        .unwrap_or_default();
    let put = format!("s3 put --chunk-size {} {target}", plan.chunk_size);
    let mut texts = vec![format!("s3 delete {target}")];
    match &run.temp_file {
        None => texts.push(format!("{source} {gpg} | {put}")),
        Some(temp) => {
            let temp = temp.display();
            texts.push(format!(
                "Using temp file to buffer before streaming[ {temp} ]..."
            ));
            texts.push(format!("{source} {gpg} > {temp}"));
            texts.push(format!("{put} <  {temp}"));
            texts.push(format!("rm {temp}"));
        }
    }
    texts
        .into_iter()
        .map(|t| Line::new(cat, Level::Info, t))
        .collect()
}
