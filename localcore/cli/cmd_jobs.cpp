// create-job / describe-job / cancel-job: the operator's side of AWS IoT Jobs for one thing (what
// `aws iot create-job --targets <thing>` and its friends do). The broker serves the device's side
// and notices these changes at its next poll (lib/jobs_service.hpp).
#include <chrono>
#include <iostream>
#include <random>

#include "ca.hpp"
#include "cli.hpp"
#include "jobs_store.hpp"

namespace localcore::cli {
namespace {

std::int64_t now_s() {
    return std::chrono::duration_cast<std::chrono::seconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
}

// job-<UTC time>-<4 random hex digits>: unique enough for one operator, readable in a log.
std::string generated_job_id(std::int64_t now) {
    std::string stamp = format_time(now);  // 2026-12-05T10:20:30Z
    std::string compact;
    for (char c : stamp)
        if (c != '-' && c != ':') compact += c;
    std::random_device rd;
    static const char* hex = "0123456789abcdef";
    std::string suffix;
    for (int i = 0; i < 4; ++i) suffix += hex[rd() % 16];
    return "job-" + compact + "-" + suffix;
}

}  // namespace

void cmd_create_job(const Args& args) {
    args.allow_options({"--thing", "--document", "--job-id", "--timeout"});
    args.expect_positional(
        0, "--data DIR create-job --thing NAME --document FILE [--job-id ID] [--timeout 30m]");
    const std::string thing = args.required_option("--thing");
    const std::string document = read_file(args.required_option("--document"));
    std::optional<std::int64_t> timeout_minutes;
    if (const auto t = args.option("--timeout")) {
        std::chrono::seconds s;
        try {
            s = parse_lifetime(*t);
        } catch (const Error& e) {
            throw UsageError("invalid --timeout '" + *t + "': " + e.what());
        }
        if (s.count() % 60 != 0 || s.count() < 60)
            throw UsageError("invalid --timeout '" + *t +
                             "': whole minutes, 1m to 7d (AWS's in-progress timeout)");
        timeout_minutes = s.count() / 60;
    }
    const std::int64_t now = now_s();
    const std::string id = args.option_or("--job-id", generated_job_id(now));
    const jobs::Execution e =
        jobs::create_job(jobs::JobStore(args.data()), thing, id, document, timeout_minutes, now);
    std::cout << e.job_id << "\n";
}

void cmd_describe_job(const Args& args) {
    args.allow_options({"--thing", "--job-id"});
    args.expect_positional(0, "--data DIR describe-job --thing NAME [--job-id ID]");
    const std::string thing = args.required_option("--thing");
    const jobs::JobStore store(args.data());
    if (const auto id = args.option("--job-id")) {
        std::cout << jobs::execution_json(jobs::describe_job(store, thing, *id), true) << "\n";
        return;
    }
    // Without an id: one line per job of the thing.
    for (const jobs::Execution& e : store.load(thing))
        std::cout << e.job_id << " " << jobs::to_string(e.status) << " version=" << e.version
                  << " queued_at=" << format_time(e.queued_at) << "\n";
}

void cmd_cancel_job(const Args& args) {
    args.allow_options({"--thing", "--job-id"});
    args.expect_positional(0, "--data DIR cancel-job --thing NAME --job-id ID");
    const std::string thing = args.required_option("--thing");
    const std::string id = args.required_option("--job-id");
    const jobs::Execution e = jobs::cancel_job(jobs::JobStore(args.data()), thing, id, now_s());
    std::cout << "canceled job " << e.job_id << " of " << thing << "\n";
}

}  // namespace localcore::cli
