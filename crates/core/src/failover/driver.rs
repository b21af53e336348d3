//! Who drives a failover run: one driver at a time, named in the application's lock. The
//! deployed state machine drives as its execution (every step it invokes, its Map's children
//! included, is the same driver); the CLI drives as its process. Another driver may take a run
//! over only once its holder is known to be gone: an execution that is no longer running, a
//! process on this host that no longer exists, or a holder whose lease went unrenewed for its
//! whole length while the taker watched (the taker's own clock measures the wait, so no two
//! clocks are compared).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A run's driver, as its lock names it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Driver {
    /// A Step Functions execution, by its ARN.
    Execution(String),
    /// A process: the host it runs on, its id, and the time it began driving (nanoseconds
    /// since the epoch), which tells apart two processes that had the same id.
    Process { host: String, pid: u32, since: i64 },
}

/// What is known of a driver other than oneself.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Liveness {
    /// Still driving: a running execution, a process of this host that exists.
    Alive,
    /// Gone: an execution that ended, a process of this host that no longer exists.
    Gone,
    /// Not knowable from here (a process of another host): only its lease's lapse tells.
    Unknown,
}

impl Driver {
    const PROCESS: &'static str = "process:";

    /// `arn:<partition>:states:<region>:<account>:execution:<machine>:<name>`, or
    /// `process:<host>:<pid>:<since>`.
    pub fn parse(text: &str) -> Result<Self, String> {
        if let Some(rest) = text.strip_prefix(Self::PROCESS) {
            let mut parts = rest.rsplitn(3, ':');
            let since = parts.next().and_then(|s| s.parse::<i64>().ok());
            let pid = parts.next().and_then(|s| s.parse::<u32>().ok());
            let host = parts.next().filter(|h| !h.is_empty());
            return match (host, pid, since) {
                (Some(host), Some(pid), Some(since)) => Ok(Self::Process {
                    host: host.to_string(),
                    pid,
                    since,
                }),
                _ => Err(format!(
                    "{text:?} is not a driver: process:<host>:<pid>:<since> expected"
                )),
            };
        }
        let parts: Vec<&str> = text.split(':').collect();
        let execution = parts.len() >= 8
            && parts[0] == "arn"
            && parts[2] == "states"
            && parts[5] == "execution"
            && parts[1..].iter().all(|p| !p.is_empty());
        if execution {
            Ok(Self::Execution(text.to_string()))
        } else {
            Err(format!(
                "{text:?} is not a driver: a Step Functions execution's ARN expected \
                 (arn:aws:states:<region>:<account>:execution:<state machine>:<name>)"
            ))
        }
    }

    /// This process, on `host`, driving since `since` (nanoseconds since the epoch).
    pub fn process(host: &str, pid: u32, since: i64) -> Self {
        Self::Process {
            host: host.to_string(),
            pid,
            since,
        }
    }
}

impl fmt::Display for Driver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Execution(arn) => f.write_str(arn),
            Self::Process { host, pid, since } => {
                write!(f, "{}{host}:{pid}:{since}", Self::PROCESS)
            }
        }
    }
}

impl TryFrom<String> for Driver {
    type Error = String;
    fn try_from(text: String) -> Result<Self, String> {
        Self::parse(&text)
    }
}

impl From<Driver> for String {
    fn from(driver: Driver) -> String {
        driver.to_string()
    }
}

/// The application's lock as read: the run it belongs to, its driver, the fencing token (one
/// more each time the driver changes) and the beat (one more each renewal).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LockFacts {
    pub run: String,
    pub holder: String,
    pub token: u64,
    pub beat: u64,
    /// How long the holder said its lease lasts without a renewal.
    pub lease_seconds: u64,
}

/// What a driver of `run` does about the lock it read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Claim {
    /// Nobody holds the application: take it.
    Take,
    /// Held by this driver: renew it.
    Renew,
    /// Held by another run: take it only if that run has ended.
    HeldByRun(String),
    /// Held by another driver of this run: take it over only once it is known to be gone.
    HeldByDriver(String),
}

/// Decide what `me`, driving `run`, does with the lock as read.
pub fn claim(lock: Option<&LockFacts>, run: &str, me: &Driver) -> Claim {
    match lock {
        None => Claim::Take,
        Some(lock) if lock.run != run => Claim::HeldByRun(lock.run.clone()),
        Some(lock) if lock.holder == me.to_string() => Claim::Renew,
        Some(lock) => Claim::HeldByDriver(lock.holder.clone()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXECUTION: &str =
        "arn:aws:states:eu-west-1:123456789012:execution:bulwark-failover:f0e1d2";

    #[test]
    fn drivers_parse_and_print_back() {
        let process = Driver::process("laptop.local", 4242, 1_733_000_000_123_456_789);
        assert_eq!(
            process.to_string(),
            "process:laptop.local:4242:1733000000123456789"
        );
        assert_eq!(Driver::parse(&process.to_string()), Ok(process));
        assert_eq!(
            Driver::parse(EXECUTION),
            Ok(Driver::Execution(EXECUTION.into()))
        );
        // A host name with colons (an IPv6 literal) keeps them.
        let odd = Driver::parse("process:fe80::1:7:9").expect("parsed");
        assert_eq!(odd, Driver::process("fe80::1", 7, 9));
        for bad in [
            "",
            "alice",
            "process:host:notapid:1",
            "process::1:1",
            "arn:aws:states:eu-west-1:123456789012:stateMachine:bulwark-failover",
            "arn:aws:states:eu-west-1::execution:m:n",
        ] {
            assert!(Driver::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_driver_takes_a_free_lock_renews_its_own_and_defers_to_any_other() {
        let me = Driver::process("h", 1, 1);
        let lock = |run: &str, holder: &str| LockFacts {
            run: run.into(),
            holder: holder.into(),
            token: 3,
            beat: 9,
            lease_seconds: 60,
        };
        assert_eq!(claim(None, "r1", &me), Claim::Take);
        assert_eq!(
            claim(Some(&lock("r1", &me.to_string())), "r1", &me),
            Claim::Renew
        );
        assert_eq!(
            claim(Some(&lock("r1", EXECUTION)), "r1", &me),
            Claim::HeldByDriver(EXECUTION.into())
        );
        // Even its own driver name under another run is another run's lock.
        assert_eq!(
            claim(Some(&lock("r0", &me.to_string())), "r1", &me),
            Claim::HeldByRun("r0".into())
        );
    }
}
