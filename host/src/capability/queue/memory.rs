//! An in-memory [`JobSink`], for tests and for calls outside the job pipeline.

use std::collections::HashMap;
use std::sync::Mutex;

use super::JobSink;

/// Recovery points in a map.
#[derive(Debug, Default)]
pub struct MemoryJobSink {
    points: Mutex<HashMap<String, String>>,
}

impl MemoryJobSink {
    /// The latest recovery point of `job`.
    pub fn recovery_point(&self, job: &str) -> Option<String> {
        self.points
            .lock()
            .expect("recovery points")
            .get(job)
            .cloned()
    }
}

#[async_trait::async_trait]
impl JobSink for MemoryJobSink {
    async fn checkpoint(&self, job: &str, recovery_point: &str) -> Result<(), String> {
        self.points
            .lock()
            .expect("recovery points")
            .insert(job.to_string(), recovery_point.to_string());
        Ok(())
    }
}
