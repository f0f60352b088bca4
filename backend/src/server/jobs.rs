//! Background jobs (the admin reindex): one at a time, with progress read from the pipeline's
//! progress bars.

use crate::pipeline::Progress;
use common::{Job, JobState};
use std::collections::HashMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Default)]
pub struct Jobs {
    next: AtomicU64,
    jobs: Mutex<HashMap<u64, Entry>>,
}

struct Entry {
    job: Job,
    bar: Option<indicatif::ProgressBar>,
}

impl Jobs {
    /// Starts a job unless one is running; returns its id.
    pub fn start(&self, stage: &str) -> Option<Job> {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if jobs.values().any(|e| e.job.state == JobState::Running) {
            return None;
        }
        let id = self.next.fetch_add(1, Ordering::SeqCst) + 1;
        let job = Job {
            id,
            state: JobState::Running,
            stage: stage.to_owned(),
            progress: 0.0,
            message: None,
            started_at: crate::util::now_rfc3339(),
            finished_at: None,
        };
        jobs.insert(
            id,
            Entry {
                job: job.clone(),
                bar: None,
            },
        );
        Some(job)
    }

    pub fn get(&self, id: u64) -> Option<Job> {
        let jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        jobs.get(&id).map(|e| {
            let mut job = e.job.clone();
            if let (JobState::Running, Some(bar)) = (job.state, &e.bar)
                && let Some(len) = bar.length().filter(|l| *l > 0)
            {
                job.progress = (bar.position() as f64 / len as f64).min(1.0);
            }
            job
        })
    }

    pub fn set_stage(&self, id: u64, stage: &str, bar: Option<indicatif::ProgressBar>) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = jobs.get_mut(&id) {
            e.job.stage = stage.to_owned();
            e.job.progress = 0.0;
            e.bar = bar;
        }
    }

    pub fn finish(&self, id: u64, result: Result<String, String>) {
        let mut jobs = self.jobs.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(e) = jobs.get_mut(&id) {
            let ok = result.is_ok();
            e.job.state = if ok { JobState::Done } else { JobState::Failed };
            e.job.stage = if ok { "done".into() } else { "failed".into() };
            e.job.progress = if ok { 1.0 } else { e.job.progress };
            e.job.message = Some(result.unwrap_or_else(|e| e));
            e.job.finished_at = Some(crate::util::now_rfc3339());
            e.bar = None;
        }
    }
}

/// Reports pipeline stages into a job.
pub struct JobProgress<'a> {
    pub jobs: &'a Jobs,
    pub id: u64,
}

impl Progress for JobProgress<'_> {
    fn stage(&self, name: &str, total: Option<u64>) -> indicatif::ProgressBar {
        let bar = indicatif::ProgressBar::hidden();
        if let Some(t) = total {
            bar.set_length(t);
        }
        self.jobs.set_stage(self.id, name, Some(bar.clone()));
        bar
    }
}
