// A tiny persistent thread pool for the kernels: GCD's concurrentPerform costs several microseconds
// per call and waits for every iteration's thread, which a decode step (dozens of small matrix
// products) feels; here the caller takes chunks too, and idle workers spin briefly before sleeping.
#include "CQuantKernels.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <unistd.h>
#if defined(__x86_64__)
#include <immintrin.h>
#define CQK_PAUSE() _mm_pause()
#else
#define CQK_PAUSE() ((void)0)
#endif

enum { kMaxWorkers = 15, kDefaultSpins = 20000 };

// Pause instructions an idle worker spins before sleeping (QUORUM_POOL_SPINS overrides; 0 makes
// workers sleep at once, e.g. to measure CPU time without spinning).
static int spins_before_sleep = kDefaultSpins;

static struct {
    pthread_once_t once;
    int workers;
    pthread_mutex_t callers;  // one job at a time
    pthread_mutex_t mutex;    // with `wake`, for sleeping workers
    pthread_cond_t wake;
    _Atomic unsigned long generation;
    cqk_task task;
    void *context;
    // (job << 40) | (chunks << 20) | next index: taking a chunk and learning the job's size is one
    // atomic step, so a worker can never pair an index of one job with the size of another.
    _Atomic unsigned long long cursor;
    _Atomic size_t done;
} pool = {.once = PTHREAD_ONCE_INIT, .callers = PTHREAD_MUTEX_INITIALIZER, .mutex = PTHREAD_MUTEX_INITIALIZER,
          .wake = PTHREAD_COND_INITIALIZER};

static void run_chunks(void) {
    for (;;) {
        unsigned long long c = atomic_fetch_add(&pool.cursor, 1);
        size_t chunks = (size_t)((c >> 20) & 0xFFFFF), i = (size_t)(c & 0xFFFFF);
        if (i >= chunks) return;
        // The job cannot change before this chunk is counted done, so task and context are its own.
        pool.task(pool.context, i);
        atomic_fetch_add(&pool.done, 1);
    }
}

static void *worker(void *unused) {
    (void)unused;
    unsigned long seen = 0;
    for (;;) {
        unsigned long now;
        int spins = 0;
        while ((now = atomic_load(&pool.generation)) == seen) {
            if (++spins < spins_before_sleep) {
                CQK_PAUSE();
                continue;
            }
            pthread_mutex_lock(&pool.mutex);
            while (atomic_load(&pool.generation) == seen) pthread_cond_wait(&pool.wake, &pool.mutex);
            pthread_mutex_unlock(&pool.mutex);
        }
        seen = now;
        run_chunks();
    }
    return NULL;
}

static void start_pool(void) {
    const char *spins = getenv("QUORUM_POOL_SPINS");
    if (spins) spins_before_sleep = atoi(spins);
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    int wanted = cores > 1 ? (int)cores - 1 : 0;
    if (wanted > kMaxWorkers) wanted = kMaxWorkers;
    for (int i = 0; i < wanted; i++) {
        pthread_t thread;
        pthread_attr_t attributes;
        pthread_attr_init(&attributes);
        pthread_attr_setdetachstate(&attributes, PTHREAD_CREATE_DETACHED);
        if (pthread_create(&thread, &attributes, worker, NULL) == 0) pool.workers++;
        pthread_attr_destroy(&attributes);
    }
}

int cqk_pool_workers(void) {
    pthread_once(&pool.once, start_pool);
    return pool.workers;
}

void cqk_parallel(cqk_task task, void *context, size_t chunks) {
    pthread_once(&pool.once, start_pool);
    if (pool.workers == 0 || chunks <= 1 || chunks >= (1u << 19)) {
        for (size_t i = 0; i < chunks; i++) task(context, i);
        return;
    }
    static unsigned long long job = 0;
    pthread_mutex_lock(&pool.callers);
    pool.task = task;
    pool.context = context;
    atomic_store(&pool.done, 0);
    job = (job + 1) & 0xFFFFFF;
    atomic_store(&pool.cursor, (job << 40) | ((unsigned long long)chunks << 20));
    pthread_mutex_lock(&pool.mutex);
    atomic_fetch_add(&pool.generation, 1);
    pthread_cond_broadcast(&pool.wake);
    pthread_mutex_unlock(&pool.mutex);
    run_chunks();
    while (atomic_load(&pool.done) < chunks) CQK_PAUSE();
    pthread_mutex_unlock(&pool.callers);
}
