//! The token server's shared store on Redis (`TOKEN_SERVER_STORE=redis://host:port[/db]`,
//! docs/token-server.md "Several instances on Redis"): per account, the current login (the whole
//! `auth.json` document), the per-account refresh lock with its lease and fencing token, and
//! what the instances must agree on about a refresh token OpenAI refused.
//!
//! Keys, for account `A` (`P` = [`PREFIX`]):
//!
//! | key | type | holds |
//! |---|---|---|
//! | `P:A` | hash | `auth` (the document), `rt` (SHA-256 of its refresh token), `fence` (the fencing token of its writer), `refreshing` (the fencing token of a refresh sent upstream and not yet written), `dead` / `dead_reason` (a refused refresh token's hash and why) |
//! | `P:A:lock` | string | the holder's fencing token; `SET NX PX lease` |
//! | `P:A:fence` | counter | fencing tokens, one `INCR` per lock attempt |
//! | `P:A:seen` | set | hashes of every refresh token ever stored (a credential file holding none of them is a new login) |
//!
//! Every command is bounded ([`OP_TIMEOUT`]); a failure is a [`StoreError`] and the caller
//! decides (a still-valid token is served, else 503).

use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use redis::{Client, Script};
use sha2::{Digest, Sha256};

/// The prefix of every key the token server writes.
pub const PREFIX: &str = "scorpiox:codex";
/// One command (with the reconnects the manager tries) may take this long.
const OP_TIMEOUT: Duration = Duration::from_secs(3);
/// Before sending a command again on a connection found broken.
const RECONNECT_PAUSE: Duration = Duration::from_millis(100);

/// Fenced write: refused (0) when a holder with a newer fencing token has written already.
const WRITE: &str = r"
local cur = tonumber(redis.call('HGET', KEYS[1], 'fence') or '0')
if tonumber(ARGV[1]) < cur then return 0 end
redis.call('HSET', KEYS[1], 'auth', ARGV[2], 'rt', ARGV[3], 'fence', ARGV[1])
redis.call('HDEL', KEYS[1], 'refreshing', 'dead', 'dead_reason')
redis.call('SADD', KEYS[2], ARGV[3])
return 1
";

/// Release the lock only if it is still ours (compare and delete).
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Mark the stored refresh token dead, if it is still the one that was refused.
const MARK_DEAD: &str = r"
if redis.call('HGET', KEYS[1], 'rt') ~= ARGV[1] then return 0 end
redis.call('HSET', KEYS[1], 'dead', ARGV[1], 'dead_reason', ARGV[2])
redis.call('HDEL', KEYS[1], 'refreshing')
return 1
";

/// The store could not be reached or answered nonsense.
#[derive(Debug)]
pub struct StoreError(pub String);

impl std::fmt::Display for StoreError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// One account's record as read.
#[derive(Debug, Default)]
pub struct Record {
    /// The `auth.json` document.
    pub auth: Option<String>,
    /// The hash of a refresh token OpenAI refused, and why (`expired`, `reused`, `revoked`,
    /// `other`).
    pub dead: Option<(String, String)>,
    /// A refresh was sent upstream under this fencing token and its result never written:
    /// its instance died or lost the store half-way.
    pub refreshing: Option<u64>,
}

/// The connection to Redis (reconnecting by itself) and the lease of the refresh lock.
pub struct RedisStore {
    conn: ConnectionManager,
    /// `redis://host:port/db` without a password, for messages.
    pub shown: String,
    pub lease: Duration,
    write: Script,
    release: Script,
    mark_dead: Script,
}

/// SHA-256 of a refresh token, hex: what the store compares instead of the token.
pub fn token_hash(refresh_token: &str) -> String {
    Sha256::digest(refresh_token.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// `url` without its password (`redis://:secret@h:1/0` → `redis://h:1/0`).
pub fn shown_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => {
            let rest = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
            format!("{scheme}://{rest}")
        }
        None => url.to_string(),
    }
}

impl RedisStore {
    /// Parse the URL (a malformed one is the caller's configuration error) and prepare a
    /// connection that is made on first use and remade whenever it breaks: the server starts,
    /// and reports not ready, while Redis is down.
    pub fn open(url: &str, lease: Duration) -> Result<RedisStore, String> {
        let shown = shown_url(url);
        if !(url.starts_with("redis://") || url.starts_with("redis+unix://")) {
            return Err(format!(
                "{shown} is not a Redis URL; use redis://HOST:PORT[/DB] (rediss:// is not \
                 supported: keep Redis on a private network or behind a TLS tunnel)"
            ));
        }
        let client = Client::open(url).map_err(|e| format!("{shown}: {e}"))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_min_delay(Duration::from_millis(50))
            .set_max_delay(Duration::from_millis(500));
        let conn = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| format!("{shown}: {e}"))?;
        Ok(RedisStore {
            conn,
            shown,
            lease,
            write: Script::new(WRITE),
            release: Script::new(RELEASE),
            mark_dead: Script::new(MARK_DEAD),
        })
    }

    fn key(account: &str, suffix: &str) -> String {
        if suffix.is_empty() {
            format!("{PREFIX}:{account}")
        } else {
            format!("{PREFIX}:{account}:{suffix}")
        }
    }

    /// Run one command (`f` gets a handle on the connection), bounded by [`OP_TIMEOUT`]. A
    /// connection found broken (Redis restarted since the last command) is remade once and
    /// the command sent again: the first caller after a restart is not failed for nothing.
    async fn run<T, F, Fut>(&self, what: &str, f: F) -> Result<T, StoreError>
    where
        F: Fn(ConnectionManager) -> Fut,
        Fut: std::future::Future<Output = redis::RedisResult<T>>,
    {
        let mut retried = false;
        loop {
            match tokio::time::timeout(OP_TIMEOUT, f(self.conn.clone())).await {
                Ok(Ok(v)) => return Ok(v),
                Ok(Err(e))
                    if !retried
                        && (e.is_connection_dropped()
                            || e.is_io_error()
                            || e.is_connection_refusal()) =>
                {
                    retried = true;
                    tokio::time::sleep(RECONNECT_PAUSE).await;
                }
                Ok(Err(e)) => {
                    return Err(StoreError(format!(
                        "the token store {} failed ({what}): {e}",
                        self.shown
                    )));
                }
                Err(_) => {
                    return Err(StoreError(format!(
                        "the token store {} did not answer within {}s ({what})",
                        self.shown,
                        OP_TIMEOUT.as_secs()
                    )));
                }
            }
        }
    }

    /// [`Self::run`] for a plain command.
    async fn query<T: redis::FromRedisValue>(
        &self,
        what: &str,
        cmd: &redis::Cmd,
    ) -> Result<T, StoreError> {
        self.run(what, |mut c| async move { cmd.query_async(&mut c).await })
            .await
    }

    /// [`Self::run`] for a script.
    async fn script<T: redis::FromRedisValue>(
        &self,
        what: &str,
        call: &redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        self.run(what, |mut c| async move { call.invoke_async(&mut c).await })
            .await
    }

    /// `PING`: is the store reachable?
    pub async fn ping(&self) -> Result<(), StoreError> {
        let pong: String = self.query("PING", &redis::cmd("PING")).await?;
        if pong == "PONG" {
            Ok(())
        } else {
            Err(StoreError(format!(
                "the token store {} answered PING with {pong:?}",
                self.shown
            )))
        }
    }

    pub async fn read(&self, account: &str) -> Result<Record, StoreError> {
        let fields: Vec<Option<String>> = self
            .query(
                "HMGET",
                redis::cmd("HMGET").arg(Self::key(account, "")).arg(&[
                    "auth",
                    "dead",
                    "dead_reason",
                    "refreshing",
                ]),
            )
            .await?;
        let mut f = fields.into_iter();
        let (auth, dead, reason, refreshing) = (
            f.next().flatten(),
            f.next().flatten(),
            f.next().flatten(),
            f.next().flatten(),
        );
        Ok(Record {
            auth,
            dead: dead.map(|d| (d, reason.unwrap_or_default())),
            refreshing: refreshing.and_then(|r| r.parse().ok()),
        })
    }

    /// Try to take the account's refresh lock: its fencing token when taken, `None` when
    /// another holder has it.
    pub async fn try_lock(&self, account: &str) -> Result<Option<u64>, StoreError> {
        let fence: u64 = self
            .query("INCR", redis::cmd("INCR").arg(Self::key(account, "fence")))
            .await?;
        let lease_ms = u64::try_from(self.lease.as_millis()).unwrap_or(u64::MAX);
        let set: Option<String> = self
            .query(
                "SET NX PX",
                redis::cmd("SET")
                    .arg(Self::key(account, "lock"))
                    .arg(fence)
                    .arg("NX")
                    .arg("PX")
                    .arg(lease_ms),
            )
            .await?;
        Ok(set.map(|_| fence))
    }

    /// Release the lock if `fence` still holds it.
    pub async fn release(&self, account: &str, fence: u64) -> Result<(), StoreError> {
        let mut call = self.release.key(Self::key(account, "lock"));
        call.arg(fence);
        let _: i64 = self.script("release", &call).await?;
        Ok(())
    }

    /// Note that a refresh under `fence` is about to go upstream.
    pub async fn mark_refreshing(&self, account: &str, fence: u64) -> Result<(), StoreError> {
        let _: i64 = self
            .query(
                "HSET refreshing",
                redis::cmd("HSET")
                    .arg(Self::key(account, ""))
                    .arg("refreshing")
                    .arg(fence),
            )
            .await?;
        Ok(())
    }

    /// Store a login written under `fence`: `false` when a newer holder wrote already.
    pub async fn write(
        &self,
        account: &str,
        fence: u64,
        auth: &str,
        refresh_token: &str,
    ) -> Result<bool, StoreError> {
        let mut call = self.write.key(Self::key(account, ""));
        call.key(Self::key(account, "seen"))
            .arg(fence)
            .arg(auth)
            .arg(token_hash(refresh_token));
        let n: i64 = self.script("fenced write", &call).await?;
        Ok(n == 1)
    }

    /// Remember that OpenAI refused `refresh_token` for good (`reason`), so that no instance
    /// sends it again.
    pub async fn mark_dead(
        &self,
        account: &str,
        refresh_token: &str,
        reason: &str,
    ) -> Result<(), StoreError> {
        let mut call = self.mark_dead.key(Self::key(account, ""));
        call.arg(token_hash(refresh_token)).arg(reason);
        let _: i64 = self.script("mark dead", &call).await?;
        Ok(())
    }

    /// Has this refresh token ever been stored for the account?
    pub async fn seen(&self, account: &str, refresh_token: &str) -> Result<bool, StoreError> {
        self.query(
            "SISMEMBER",
            redis::cmd("SISMEMBER")
                .arg(Self::key(account, "seen"))
                .arg(token_hash(refresh_token)),
        )
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_are_shown_without_passwords() {
        assert_eq!(shown_url("redis://:s3cret@h:6379/2"), "redis://h:6379/2");
        assert_eq!(shown_url("redis://u:p@ss@h:1"), "redis://h:1");
        assert_eq!(shown_url("redis://h:1/0"), "redis://h:1/0");
    }

    #[test]
    fn only_redis_urls_are_taken() {
        let e = RedisStore::open("http://h:1", Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(e.contains("not a Redis URL"), "{e}");
        let e = RedisStore::open("rediss://:pw@h:1", Duration::from_secs(1))
            .err()
            .unwrap();
        assert!(
            e.contains("rediss:// is not supported") && !e.contains("pw"),
            "{e}"
        );
    }

    #[test]
    fn hashes_are_hex_sha256() {
        assert_eq!(
            token_hash("abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }
}
