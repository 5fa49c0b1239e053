/*
 * iotgw plugin ABI — the only contract between the gateway core and a plugin library.
 *
 * Why a C boundary: plugins are shipped as .so files built by third parties with their own
 * compiler, Boost and standard-library versions. Only plain C structs, function pointers and
 * NUL-terminated strings cross this boundary; nothing of Boost, toml++, RapidJSON, paho or the
 * C++ standard library does. The C++ wrappers in <iotgw/sdk.hpp> are compiled into the plugin.
 *
 * Versioning rules (they are what keeps old plugins loading in new gateways):
 *  - IOTGW_ABI_MAJOR changes only when an existing field or callback changes meaning or layout.
 *    The gateway refuses a plugin whose major differs from its own.
 *  - IOTGW_ABI_MINOR grows when something is appended. Structs that may grow carry their own
 *    size as the first field; readers check that size before touching an appended field.
 *  - The first two fields of iotgw_host_api and iotgw_plugin_descriptor (size, abi_version) are
 *    frozen forever, so any gateway can read the version of any plugin and refuse it clearly.
 *  - A plugin reports the literal ABI version it was written for, not a macro re-evaluated at
 *    build time of a newer SDK, so a rebuilt plugin does not claim features it never used.
 *
 * Threads: every callback into a plugin runs on the gateway's single event-loop thread. The only
 * host functions a plugin may call from another thread are `post` and `log`.
 */
#ifndef IOTGW_PLUGIN_ABI_H
#define IOTGW_PLUGIN_ABI_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define IOTGW_ABI_MAJOR 1u
#define IOTGW_ABI_MINOR 4u
/* A C++ cast in C++ so the macros stay clean under -Wold-style-cast in plugins and the core. */
#ifdef __cplusplus
#define IOTGW_U32_(x) static_cast<uint32_t>(x)
#else
#define IOTGW_U32_(x) ((uint32_t)(x))
#endif
#define IOTGW_MAKE_ABI_VERSION(major, minor) ((IOTGW_U32_(major) << 16) | (IOTGW_U32_(minor) & 0xffffu))
#define IOTGW_ABI_VERSION IOTGW_MAKE_ABI_VERSION(IOTGW_ABI_MAJOR, IOTGW_ABI_MINOR)
#define IOTGW_ABI_VERSION_MAJOR(v) (IOTGW_U32_(v) >> 16)
#define IOTGW_ABI_VERSION_MINOR(v) (IOTGW_U32_(v) & 0xffffu)

/* The one symbol every plugin library exports. */
#define IOTGW_ENTRY_SYMBOL "iotgw_plugin_entry"

#if defined(__GNUC__)
#define IOTGW_EXPORT __attribute__((visibility("default")))
#else
#define IOTGW_EXPORT
#endif

/* ---- status codes returned by plugin callbacks and host functions ---- */
typedef enum iotgw_status {
    IOTGW_OK = 0,
    IOTGW_ERR_FAILED = 1,        /* generic failure; the error buffer says why */
    IOTGW_ERR_CONFIG = 2,        /* invalid configuration value */
    IOTGW_ERR_NOT_FOUND = 3,     /* key, instance or endpoint does not exist */
    IOTGW_ERR_TYPE = 4,          /* value exists but has another type */
    IOTGW_ERR_UNSUPPORTED = 5,   /* callback or feature not provided */
    IOTGW_ERR_WRONG_THREAD = 6,  /* called off the event loop where that is not allowed */
    IOTGW_ERR_NO_MEMORY = 7,
    IOTGW_ERR_EXCEPTION = 8,     /* a C++ exception was caught at the boundary */
    IOTGW_ERR_STOPPED = 9        /* the instance or gateway is stopping */
} iotgw_status;

/* ---- what a plugin is ---- */
typedef enum iotgw_kind {
    IOTGW_KIND_CREDENTIALS = 1, /* provides a certificate chain and a private key reference */
    IOTGW_KIND_CONNECTION = 2,  /* a transport: inputs and outputs addressed as name:address */
    IOTGW_KIND_SOURCE = 3,      /* produces messages on its own (timers, devices) */
    IOTGW_KIND_PROCESSOR = 4,   /* a pipeline stage: receives a message, emits zero or more */
    IOTGW_KIND_SINK = 5,        /* consumes messages at the end of a pipeline */
    IOTGW_KIND_JOB_HANDLER = 6  /* ABI 1.3: carries out remote jobs of the operations it names */
} iotgw_kind;

/* syslog priorities; the core writes them as "<N>" prefixes so journald keeps the level */
typedef enum iotgw_log_level {
    IOTGW_LOG_ERROR = 3,
    IOTGW_LOG_WARNING = 4,
    IOTGW_LOG_NOTICE = 5,
    IOTGW_LOG_INFO = 6,
    IOTGW_LOG_DEBUG = 7
} iotgw_log_level;

/* Error text a callback fills in when it returns non-zero. Owned by the caller. */
#define IOTGW_ERROR_MESSAGE_MAX 1024
typedef struct iotgw_error {
    char message[IOTGW_ERROR_MESSAGE_MAX];
} iotgw_error;

/* ---- opaque host objects ---- */
typedef struct iotgw_host_instance iotgw_host_instance; /* the host's view of one plugin instance */
typedef struct iotgw_config iotgw_config;               /* validated configuration of one instance */
typedef struct iotgw_delivery iotgw_delivery;           /* where a message being handled came from */
typedef struct iotgw_timer iotgw_timer;
typedef struct iotgw_fd_watch iotgw_fd_watch; /* ABI 1.4 */
typedef struct iotgw_counter iotgw_counter;
typedef struct iotgw_gauge iotgw_gauge;

/* ---- messages ---- */
#define IOTGW_MSG_RETAIN 0x1u
/* ABI 1.2: expiry_s holds the message's MQTT 5 Message Expiry Interval. */
#define IOTGW_MSG_EXPIRY 0x2u

typedef struct iotgw_message {
    uint32_t size;  /* sizeof(iotgw_message) as compiled by the producer */
    uint32_t flags; /* IOTGW_MSG_* */
    const char *topic;
    size_t topic_len;
    const void *payload;
    size_t payload_len;
    int32_t qos; /* 0 or 1; the connection refuses what its broker cannot do */
    uint32_t reserved;
    /* ABI 1.2. Read only when size covers it and flags has IOTGW_MSG_EXPIRY. On a received
     * message: the seconds of life the broker says it has left (for a retained one, what is left
     * since it was published). On a published one: the expiry the connection sets (MQTT 5 only).
     * No flag means the message never expires, or came over MQTT 3.1.1, which has no expiry. */
    uint32_t expiry_s;
    uint32_t reserved2;
} iotgw_message;

/* ---- configuration schema, declared by the plugin as data ---- */
typedef enum iotgw_value_type {
    IOTGW_TYPE_STRING = 1,
    IOTGW_TYPE_INT = 2,
    IOTGW_TYPE_FLOAT = 3,
    IOTGW_TYPE_BOOL = 4,
    IOTGW_TYPE_DURATION = 5,     /* TOML string such as "10s", "250ms", "1m30s"; read as ms */
    IOTGW_TYPE_STRING_ARRAY = 6,
    IOTGW_TYPE_REF = 7,          /* name of another instance (of ref_kind when non-zero) */
    IOTGW_TYPE_REF_ARRAY = 8,
    IOTGW_TYPE_PATH = 9,         /* string; relative paths resolve against the config file */
    IOTGW_TYPE_STRING_MAP = 10   /* TOML table of string values */
} iotgw_value_type;

#define IOTGW_FIELD_REQUIRED 0x1u
#define IOTGW_FIELD_SECRET 0x2u  /* never printed by `iotgw plugins` or in logs */
#define IOTGW_FIELD_HAS_MIN 0x4u /* INT/FLOAT: value; DURATION: ms; arrays: element count */
#define IOTGW_FIELD_HAS_MAX 0x8u

typedef struct iotgw_config_field {
    const char *name;
    uint32_t type;  /* iotgw_value_type */
    uint32_t flags; /* IOTGW_FIELD_* */
    const char *default_value; /* a TOML value literal ("10", "\"x\"", "true", "[\"a\"]") or NULL */
    const char *description;
    double min;
    double max;
    const char *choices; /* STRING: allowed values separated by '|', or NULL for any */
    uint32_t ref_kind;   /* REF/REF_ARRAY: required iotgw_kind, or 0 for any */
    uint32_t reserved;
} iotgw_config_field;

/* ---- credentials (kind_api of IOTGW_KIND_CREDENTIALS plugins) ---- */
typedef struct iotgw_credentials {
    uint32_t size;
    uint32_t reserved;
    const char *cert_chain_path;  /* PEM: leaf first, then intermediates */
    const char *private_key_path; /* a path OpenSSL 3 can decode (PEM key or provider URI PEM) */
    const char *ca_path;          /* trust anchors for the server, or NULL for the system store */
    int64_t not_after_unix;       /* leaf certificate expiry, seconds since the epoch; 0 unknown */
} iotgw_credentials;

/* ---- ABI 1.1: on-device renewal of credentials ----
 * A provider that can renew keeps up to three pairs: `current` (what get() hands out), `pending`
 * (a new key, later with its certificate) and `backup` (the pair current replaced at the last
 * promotion, kept until the next one). The private key never leaves the provider: it creates the
 * key and signs a CSR; only the CSR and the issued certificate cross this boundary. Every state
 * change is atomic on the provider's storage (a crash leaves the old or the new state).
 * After PROMOTE and ROLLBACK the provider publishes its internal event "changed"
 * ("$iotgw/instance/<provider>/changed", payload {"reason":"promoted"|"rolled back"}) so that
 * connections using it reconnect with the new pair. */
typedef enum iotgw_renewal_op {
    IOTGW_RENEWAL_CREATE_KEY = 1, /* input: CSR subject common name (may be empty); output: CSR PEM.
                                     Replaces any earlier pending key and certificate. */
    IOTGW_RENEWAL_STORE_CERT = 2, /* input: PEM chain issued for the pending key; kept as pending */
    IOTGW_RENEWAL_PROMOTE = 3,    /* pending -> current, current -> backup (the old backup goes) */
    IOTGW_RENEWAL_DISCARD = 4,    /* removes the pending key and certificate, if any */
    IOTGW_RENEWAL_ROLLBACK = 5,   /* backup -> current (the current pair goes) */
    IOTGW_RENEWAL_IMPORT_PAIR = 6 /* input: a PEM chain followed by its PEM private key, made outside
                                     the provider (AWS CreateKeysAndCertificate, a documented weaker
                                     option); kept as pending like STORE_CERT. Only providers whose
                                     keys are files accept it; the others, and providers built before
                                     it existed, return IOTGW_ERR_UNSUPPORTED. */
} iotgw_renewal_op;

/* Completion of a renewal operation: called exactly once, on the loop thread, never before the
 * call that started it has returned (with IOTGW_ERR_STOPPED if the provider stopped first).
 * `output` (CREATE_KEY: the CSR PEM; else NULL) and `error` (why it failed; NULL on success) are
 * valid during the call only. */
typedef void (*iotgw_renewal_done)(void *user, int status, const char *output, const char *error);

typedef struct iotgw_credentials_api {
    uint32_t size;
    uint32_t reserved;
    /* Fill `out`; its strings stay valid until the next call or destroy. */
    int (*get)(void *instance, iotgw_credentials *out, iotgw_error *err);

    /* ---- ABI 1.1; present when `size` covers them; NULL when the provider cannot renew ---- */
    /* Start `op` (iotgw_renewal_op). Non-zero: it did not start, `err` says why, `done` is not
     * called. One operation at a time: a second one while the first runs is refused. */
    int (*renew)(void *instance, uint32_t op, const char *input, size_t input_len, iotgw_renewal_done done,
                 void *user, iotgw_error *err);
    /* Like get, for the pending pair (IOTGW_ERR_NOT_FOUND when there is no complete one). */
    int (*get_pending)(void *instance, iotgw_credentials *out, iotgw_error *err);
} iotgw_credentials_api;

/* ---- ABI 1.3: job handlers (kind_api of IOTGW_KIND_JOB_HANDLER plugins) ----
 * A remote job (an AWS IoT Jobs execution) names its operation in its document
 * ({"operation":"config", ...}); the `jobs` plugin takes executions from the cloud and hands each
 * to the handler instance that carries out that operation, through the host (job_start below),
 * because the two are different plugins. The handler reports progress and its end; the jobs
 * plugin turns them into the execution's updates and keeps a journal, so that after a restart or
 * a power loss the execution is given back to its handler with the last resume state it reported. */
typedef enum iotgw_job_outcome {
    IOTGW_JOB_SUCCEEDED = 1,
    IOTGW_JOB_FAILED = 2,  /* tried and did not work; what could be undone was undone */
    IOTGW_JOB_REJECTED = 3 /* the document is not one this handler can carry out; nothing changed */
} iotgw_job_outcome;

typedef struct iotgw_job {
    uint32_t size;
    uint32_t reserved;
    const char *job_id;
    const char *document; /* the job document, a JSON object */
    size_t document_len;
    /* The resume state the handler reported with its last progress before the gateway restarted
     * (JSON), or NULL when the execution starts fresh. */
    const char *resume_state;
    size_t resume_state_len;
} iotgw_job;

/* How a handler reports; every call on the loop thread. `done` exactly once, never inside the
 * start call (the SDK posts it); after it, nothing more. `details_json` is a JSON object of
 * string values (AWS's statusDetails), or NULL. */
typedef struct iotgw_job_report {
    uint32_t size;
    uint32_t reserved;
    /* A step: the jobs plugin journals `resume_state_json` (or keeps the previous one, when NULL)
     * and reports the details while the execution is IN_PROGRESS, renewing its step timeout. */
    void (*progress)(void *user, const char *details_json, const char *resume_state_json);
    /* The end: outcome (iotgw_job_outcome), a reason code ([a-z_]+, e.g. "invalid_config"; NULL on
     * success) and one sentence for the operator (NULL on success). */
    void (*done)(void *user, uint32_t outcome, const char *reason, const char *message,
                 const char *details_json);
    void *user;
} iotgw_job_report;

typedef struct iotgw_job_handler_api {
    uint32_t size;
    uint32_t reserved;
    /* The operations it carries out, '|'-separated ("config"), and the longest it goes without a
     * progress report or its end (the jobs plugin's watchdog and the cloud's step timeout). */
    int (*describe)(void *instance, const char **operations, int64_t *step_timeout_ms, iotgw_error *err);
    /* Begin (or resume) an execution; one at a time. Non-zero: it did not start, `err` says why,
     * `report` is not used. The report's functions stay valid until `done` has been called. */
    int (*start)(void *instance, const iotgw_job *job, const iotgw_job_report *report, iotgw_error *err);
    /* The cloud ended the execution (cancelled, timed out) or the gateway stops: stop and undo
     * what can be undone; `done` is still called (its outcome is then only logged). */
    void (*cancel)(void *instance, const char *job_id);
} iotgw_job_handler_api;

/* ---- endpoints: "name:address" references in pipelines ---- */
typedef enum iotgw_endpoint_direction {
    IOTGW_ENDPOINT_INPUT = 1, /* pipeline `from = "name:address"`: the plugin emits on it */
    IOTGW_ENDPOINT_OUTPUT = 2 /* pipeline `to = "name:address"`: on_message receives its id */
} iotgw_endpoint_direction;

/* ---- the table of host functions, passed to the entry point ---- */
typedef struct iotgw_host_api {
    uint32_t size;        /* frozen: sizeof(iotgw_host_api) of the host */
    uint32_t abi_version; /* frozen: the host's IOTGW_ABI_VERSION */

    /* Logging; thread-safe. */
    void (*log)(iotgw_host_instance *self, int level, const char *message);
    int (*log_enabled)(iotgw_host_instance *self, int level);

    /* Hand a message on. `delivery` is the one received in on_message when emitting in
     * response to it (the message then continues down that pipeline only), or NULL when
     * emitting on the instance's own initiative (it then flows to every pipeline that starts
     * at, or passes through, this instance). `endpoint_id` is 0 or an INPUT endpoint id.
     * Loop thread only. The host copies what it keeps; the message may be freed on return. */
    int (*emit)(iotgw_host_instance *self, const iotgw_delivery *delivery, uint32_t endpoint_id,
                const iotgw_message *message);

    /* Run fn(user, 0) on the event loop; thread-safe. fn is called exactly once: with
     * cancelled = 1 (free `user`, touch nothing else) if the instance has stopped by then or
     * the gateway shuts down first. Returns non-zero only if nothing was queued. */
    int (*post)(iotgw_host_instance *self, void (*fn)(void *user, int cancelled), void *user);

    /* Timers on the event loop. Deadlines are on the host's monotonic clock (nanoseconds),
     * which makes drift-free periodic schedules easy: re-arm at previous deadline + period. */
    int64_t (*monotonic_ns)(void);
    iotgw_timer *(*timer_create)(iotgw_host_instance *self, void (*fn)(void *user), void *user);
    int (*timer_arm_at)(iotgw_timer *timer, int64_t deadline_monotonic_ns);
    void (*timer_cancel)(iotgw_timer *timer);
    void (*timer_destroy)(iotgw_timer *timer);

    /* Metrics, named "<instance>.<name>" by the host. */
    iotgw_counter *(*counter)(iotgw_host_instance *self, const char *name, const char *help);
    void (*counter_add)(iotgw_counter *counter, uint64_t delta);
    iotgw_gauge *(*gauge)(iotgw_host_instance *self, const char *name, const char *help);
    void (*gauge_set)(iotgw_gauge *gauge, double value);

    /* Configuration of this instance, already validated against the schema, defaults filled. */
    int (*config_string)(const iotgw_config *cfg, const char *key, const char **out, size_t *len);
    int (*config_int)(const iotgw_config *cfg, const char *key, int64_t *out);
    int (*config_double)(const iotgw_config *cfg, const char *key, double *out);
    int (*config_bool)(const iotgw_config *cfg, const char *key, int *out);
    int (*config_duration_ms)(const iotgw_config *cfg, const char *key, int64_t *out);
    int (*config_array_size)(const iotgw_config *cfg, const char *key, size_t *out);
    int (*config_array_string)(const iotgw_config *cfg, const char *key, size_t index,
                               const char **out, size_t *len);
    int (*config_map_size)(const iotgw_config *cfg, const char *key, size_t *out);
    int (*config_map_entry)(const iotgw_config *cfg, const char *key, size_t index,
                            const char **map_key, const char **value);

    /* Identity of this instance and of the gateway. */
    const char *(*instance_name)(iotgw_host_instance *self);
    const char *(*thing_name)(iotgw_host_instance *self);

    /* Ask a credentials instance (by name) for its current credentials. In a run it must be
     * running (IOTGW_ERR_STOPPED otherwise). In a dry run (`iotgw check`, which only creates the
     * instances) the host also asks a created one, so a plugin's create can check what it would
     * find at start; a provider that cannot answer before its start returns its error as usual,
     * and a plugin must treat any error here at create as "not known yet". */
    int (*get_credentials)(iotgw_host_instance *self, const char *credentials_instance,
                           iotgw_credentials *out, iotgw_error *err);

    /* Internal events, named like MQTT topics: the core's own are "$iotgw/core/<event>"
     * (started, reloaded, stopping), an instance's are "$iotgw/instance/<name>/<event>".
     * event_publish: `event` is the last part only ("connected"); `payload_json` is JSON text
     * or NULL. A retained event is kept (the last one per name) and replayed to later
     * subscribers, so an instance that starts after a connection still learns its state.
     * Delivery is synchronous, on the loop thread; loop thread only. */
    int (*event_publish)(iotgw_host_instance *self, const char *event, const char *payload_json,
                         int retain);
    /* fn(user, event, payload_json) for every event matching the MQTT-style `filter`, retained
     * ones first. Returns a subscription id (> 0) or 0. Subscriptions end at the instance's
     * stop, or earlier with event_unsubscribe. */
    uint32_t (*event_subscribe)(iotgw_host_instance *self, const char *filter,
                                void (*fn)(void *user, const char *event, const char *payload_json),
                                void *user);
    void (*event_unsubscribe)(iotgw_host_instance *self, uint32_t subscription_id);

    /* ---- ABI 1.1 (check `size` before use) ---- */
    /* Why renewal is in this generic table and not only behind the credentials kind API: the
     * plugin that drives a renewal (fleet_provisioning, which speaks to AWS IoT) and the provider
     * that holds the key (file, tpm, pkcs11) are different plugins, and a plugin reaches another
     * instance only through the host. The host looks the instance up by name, checks that it
     * is running, and refuses providers built for ABI 1.0 or without `renew`
     * (IOTGW_ERR_UNSUPPORTED, with a sentence naming them). The steps themselves are not AWS's:
     * a key and its CSR, a certificate, promote, discard and rollback suit any CA; only the
     * order a consumer calls them in, and IMPORT_PAIR, follow AWS IoT's certificate APIs. Two
     * appended entries kept the ABI smallest: a kind-specific host table would have added a
     * lookup call and a struct for the same two calls. */
    /* Run a renewal operation on a credentials instance (see iotgw_renewal_op); loop thread only.
     * IOTGW_ERR_UNSUPPORTED when its plugin cannot renew. Non-zero: `done` is not called. */
    int (*credentials_renew)(iotgw_host_instance *self, const char *credentials_instance, uint32_t op,
                             const char *input, size_t input_len, iotgw_renewal_done done, void *user,
                             iotgw_error *err);
    /* The pending pair of a credentials instance, e.g. to prove it with a connection. */
    int (*get_pending_credentials)(iotgw_host_instance *self, const char *credentials_instance,
                                   iotgw_credentials *out, iotgw_error *err);

    /* ---- ABI 1.3 (check `size` before use) ---- */
    /* The job handler instance `handler_instance` (running): what it carries out (see
     * iotgw_job_handler_api.describe). IOTGW_ERR_NOT_FOUND when there is no such handler. */
    int (*job_describe)(iotgw_host_instance *self, const char *handler_instance, const char **operations,
                        int64_t *step_timeout_ms, iotgw_error *err);
    /* Start or resume an execution on it; loop thread only. Non-zero: `report` is not used. */
    int (*job_start)(iotgw_host_instance *self, const char *handler_instance, const iotgw_job *job,
                     const iotgw_job_report *report, iotgw_error *err);
    void (*job_cancel)(iotgw_host_instance *self, const char *handler_instance, const char *job_id);
    /* The gateway's own version ("0.2.0"), e.g. for a job's report after an update. */
    const char *(*gateway_version)(void);
    /* fn(user, name, value, is_counter) for every metric ("<instance>.<name>") in name order, now,
     * on the loop thread; e.g. a health report. */
    void (*metrics_read)(iotgw_host_instance *self,
                         void (*fn)(void *user, const char *name, double value, int is_counter), void *user);
    /* The gateway's own configuration, for a job handler that replaces it (the `config` handler).
     * A gateway started without a remote configuration file (`iotgw run --remote-config`)
     * answers IOTGW_ERR_UNSUPPORTED to each. Loop thread only. */
    /* Loads `toml` as the remote configuration would be loaded, with every plugin's own checks:
     * IOTGW_OK when valid, IOTGW_ERR_CONFIG with each problem ("file:line:column: message")
     * given to `problem`. */
    int (*config_check)(iotgw_host_instance *self, const char *toml, size_t toml_len,
                        void (*problem)(void *user, const char *line), void *user, iotgw_error *err);
    /* Checks it as config_check does, writes it on trial for job `job_id` and reloads the gateway
     * with it once the caller has returned to the loop (every instance, the caller's too, is
     * then stopped and made anew). The gateway rolls it back unless config_confirm is called
     * within `trial_ms`, and also when it restarts more than three times with it. */
    int (*config_apply)(iotgw_host_instance *self, const char *job_id, const char *toml, size_t toml_len,
                        int64_t trial_ms, void (*problem)(void *user, const char *line), void *user,
                        iotgw_error *err);
    /* Where job `job_id`'s configuration stands (iotgw_config_trial); for a rollback, `reason`
     * says why. */
    int (*config_trial)(iotgw_host_instance *self, const char *job_id, uint32_t *state, iotgw_error *reason);
    /* Keeps job `job_id`'s configuration: its trial ends. Non-zero when it is not on trial. */
    int (*config_confirm)(iotgw_host_instance *self, const char *job_id, iotgw_error *err);

    /* ---- ABI 1.4 (check `size` before use): file descriptors on the loop ---- */
    /* Watches `fd` on the gateway's loop, so that a library with a socket or device of its own
     * (another MQTT client, a serial port) runs on the loop thread instead of a thread of its
     * own. The plugin keeps owning `fd`: the host never closes it, and fd_watch_destroy must
     * come before the plugin closes it. The host puts it in non-blocking mode (O_NONBLOCK), as
     * I/O on the loop must not block. Loop thread only; NULL on failure. */
    iotgw_fd_watch* (*fd_watch_create)(iotgw_host_instance* self, int fd,
                                       void (*fn)(void* user, uint32_t ready), void* user);
    /* Waits once for `events` (iotgw_fd_events, or-ed). When one of them holds, fn(user, ready)
     * runs on the loop with the ones that held; an error or hang-up on the fd is reported as
     * every event armed. The wait is level-triggered: arming while the fd is already ready calls fn soon
     * after, from the loop, not from inside this call. A new arm replaces the one before; 0
     * disarms. IOTGW_ERR_STOPPED after the instance was stopped. */
    int (*fd_watch_arm)(iotgw_fd_watch* watch, uint32_t events);
    /* Stops watching; fn is not called after this returns, even if a readiness was queued. */
    void (*fd_watch_destroy)(iotgw_fd_watch* watch);
} iotgw_host_api;

/* ABI 1.4: what fd_watch_arm waits for and fn is told. */
typedef enum iotgw_fd_events { IOTGW_FD_READABLE = 1, IOTGW_FD_WRITABLE = 2 } iotgw_fd_events;

/* Where a configuration applied by a job stands (config_trial). */
typedef enum iotgw_config_trial {
    IOTGW_CONFIG_TRIAL_NONE = 0,       /* nothing was applied for this job */
    IOTGW_CONFIG_TRIAL_PENDING = 1,    /* running on trial */
    IOTGW_CONFIG_TRIAL_CONFIRMED = 2,  /* kept */
    IOTGW_CONFIG_TRIAL_ROLLED_BACK = 3 /* the previous configuration was brought back */
} iotgw_config_trial;

/* ---- what a plugin library describes itself as ---- */
typedef struct iotgw_plugin_descriptor {
    uint32_t size;        /* frozen: sizeof(iotgw_plugin_descriptor) of the plugin */
    uint32_t abi_version; /* frozen: the literal ABI version the plugin was written for */
    uint32_t kind;        /* iotgw_kind */
    uint32_t reserved;
    const char *name;        /* type name used in configs: [kinds.instance] type = "name" */
    const char *version;     /* the plugin's own version, e.g. "1.2.0" */
    const char *description; /* one line */

    const iotgw_config_field *config_fields;
    uint32_t config_field_count;
    uint32_t config_field_size; /* sizeof(iotgw_config_field) of the plugin */

    /* Lifecycle; all on the loop thread. create: parse config, allocate, no I/O.
     * start: begin work (after everything it depends on has started).
     * stop: cease emitting, cancel timers, close connections; the instance may be started
     * again only after a new create. destroy: free everything. */
    int (*create)(iotgw_host_instance *self, const iotgw_config *config, void **out_instance,
                  iotgw_error *err);
    int (*start)(void *instance, iotgw_error *err);
    void (*stop)(void *instance);
    void (*destroy)(void *instance);

    /* A message arriving from a pipeline; NULL for plugins that only emit. `endpoint_id` is 0
     * or the OUTPUT endpoint it was addressed to. */
    int (*on_message)(void *instance, const iotgw_delivery *delivery, uint32_t endpoint_id,
                      const iotgw_message *message, iotgw_error *err);

    /* Resolve "name:address" from a pipeline to an endpoint id (> 0); NULL if the plugin has
     * no addressable endpoints. Called after create, before start. */
    int (*open_endpoint)(void *instance, uint32_t direction, const char *address,
                         uint32_t *out_endpoint_id, iotgw_error *err);

    /* Kind-specific interface: iotgw_credentials_api for CREDENTIALS, iotgw_job_handler_api for
     * JOB_HANDLER (ABI 1.3), NULL otherwise. */
    const void *kind_api;
} iotgw_plugin_descriptor;

/* The entry point: called once after the library is loaded. Returns NULL if the plugin cannot
 * work with this host (it should then have logged why through host->log(NULL, ...)). */
typedef const iotgw_plugin_descriptor *(*iotgw_plugin_entry_fn)(const iotgw_host_api *host);

#ifdef __cplusplus
}
#endif

#endif /* IOTGW_PLUGIN_ABI_H */
