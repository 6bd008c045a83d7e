//! The capabilities' per-request costs: sealing and opening a secret, the egress policy check,
//! a rate-limit decision in-process and through Redis (127.0.0.1:6379), and charging host
//! memory held for a call.

use std::hint::black_box;
use std::sync::Arc;

use criterion::{Criterion, criterion_group, criterion_main};
use postd_host::capability::http::{
    Budget, EgressPolicy, LocalRateLimiter, RateLimiter, RedisRateLimiter,
};
use postd_host::capability::memory::{CallMemory, HostMemoryPool, MemoryCaps};
use postd_host::capability::vault::{
    DataKey, EncryptedSecretStore, KeyRing, LocalKeyProvider, MemoryVaultRecords, SecretScope,
    SecretStore, SecretWrite, secret_aad,
};

fn vault(c: &mut Criterion) {
    let key = DataKey::generate();
    let scope = SecretScope::new("tenant-a", "meta", "conn-1");
    let token = "EAAB".repeat(50);
    c.bench_function("vault/seal+open one secret (AES-256-GCM)", |b| {
        b.iter(|| {
            let aad = secret_aad(&scope, "access-token", 1);
            let sealed = key.seal(&aad, token.as_bytes());
            black_box(key.open(&aad, &sealed).unwrap());
        })
    });

    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let store = EncryptedSecretStore::new(
        KeyRing::new(Arc::new(LocalKeyProvider::from_key(DataKey::generate()))),
        Arc::new(MemoryVaultRecords::default()),
    );
    c.bench_function(
        "vault/commit+get through the store (cached data key)",
        |b| {
            b.to_async(&tokio).iter(|| async {
                store
                    .commit(
                        &scope,
                        vec![SecretWrite::Put("access-token".into(), token.clone())],
                    )
                    .await
                    .unwrap();
                black_box(store.get(&scope, "access-token").await.unwrap());
            })
        },
    );
}

fn egress(c: &mut Criterion) {
    let hosts: Vec<String> = [
        "https://graph.facebook.com",
        "https://*.tiktokapis.com",
        "https://api.linkedin.com",
    ]
    .iter()
    .map(|h| h.to_string())
    .collect();
    let policy = EgressPolicy::new(&hosts, &[]).unwrap();
    c.bench_function("egress/policy check per request", |b| {
        b.iter(|| {
            black_box(
                policy
                    .check("https://open.tiktokapis.com/v2/post/publish/status/fetch/?x=1")
                    .unwrap(),
            )
        })
    });
}

fn rate(c: &mut Criterion) {
    let tokio = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let budget = Budget::per_seconds(u32::MAX, 1);
    // A request's two buckets, decided together: the connection's and the tenant ceiling.
    let buckets = [
        ("plugin:meta:t:c".to_string(), budget),
        ("tenant:t".to_string(), budget),
    ];
    let now = std::time::Duration::ZERO;
    let local = LocalRateLimiter::default();
    c.bench_function("rate/decision in-process (two buckets)", |b| {
        b.to_async(&tokio)
            .iter(|| async { black_box(local.acquire(&buckets, now).await) })
    });
    let redis = tokio
        .block_on(RedisRateLimiter::connect(
            "redis://127.0.0.1:6379",
            "postd_bench_capabilities:",
        ))
        .expect("Redis on 127.0.0.1:6379");
    c.bench_function(
        "rate/decision through Redis (GCRA script, two buckets)",
        |b| {
            b.to_async(&tokio)
                .iter(|| async { black_box(redis.acquire(&buckets, now).await) })
        },
    );
}

fn memory(c: &mut Criterion) {
    let pool = HostMemoryPool::new(1 << 30);
    let caps = MemoryCaps::for_memory_limit(64 << 20);
    // What a typical refresh holds: two tokens written, two remembered for redaction.
    c.bench_function("memory/call ledger: create, 4 charges, give back", |b| {
        b.iter(|| {
            let call = CallMemory::new(caps, pool.clone());
            for _ in 0..4 {
                call.charge(black_box(200)).unwrap();
            }
            drop(black_box(call));
        })
    });
    let call = CallMemory::new(caps, pool.clone());
    c.bench_function("memory/transient hold of a body chunk", |b| {
        b.iter(|| {
            call.hold_transient(black_box(16 << 10)).unwrap();
            call.hold_transient(0).unwrap();
        })
    });
}

criterion_group!(benches, vault, egress, rate, memory);
criterion_main!(benches);
