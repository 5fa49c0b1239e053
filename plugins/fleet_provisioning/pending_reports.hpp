// Rotation reports the backend has not confirmed yet: "<cert>.reports" next to the production
// certificate, {"pending":[{"oldCertificateId":..,"newCertificateId":..},...]}, rewritten whole
// and atomically (plugins/common durable_file) on every change.
//
// Why a list: the report of a rotation is what makes the backend set the old certificate INACTIVE
// (localcore/lib/rotation.cpp; the AWS backend of cloud/ does the same). When it is never answered
// (the backend was down), the old certificate stays ACTIVE. A single record would be overwritten by
// the next rotation and the first old certificate would stay ACTIVE forever; so every unconfirmed
// report is kept here, oldest first, and sent again (one at a time, with backoff, after every
// reconnect) until the backend answers it. The backend is idempotent: a report of a certificate
// already INACTIVE is accepted again, so a report whose reply was lost is harmlessly repeated.
//
// An answer confirms a report: accepted, or rejected for a reason a retry cannot change (403, 404,
// 409: not this thing's, unknown, revoked). Other rejections (400 while connected with the old
// certificate itself, 429, 5xx) keep it for a retry.
//
// Bounded: at most kMaxPendingReports; a report added beyond that drops the oldest, with an error
// naming the certificate that then stays ACTIVE until an operator deactivates it.
#pragma once

#include "rotation_record.hpp"

#include <cstddef>
#include <optional>
#include <string>
#include <vector>

namespace iotgw::plugins::fleet_provisioning {

inline constexpr std::size_t kMaxPendingReports = 16;

inline std::string pending_reports_path(const std::string& cert_path) { return cert_path + ".reports"; }

// Whether a rejected report (its JSON payload) may succeed if sent again.
bool rejection_is_retryable(const std::string& payload);

class PendingReports {
public:
    enum class Answer {
        not_ours,   // no report with this clientToken is out
        confirmed,  // the backend answered: removed from the list
        retry,      // a transient rejection: kept, sent again after the backoff
    };

    // Binds to `path` and reads what a previous run left. Returns a problem with the path if the
    // file is not ours (then it is ignored and replaced at the next change); "" otherwise.
    std::string open(const std::string& path);
    bool is_open() const noexcept { return !path_.empty(); }
    const std::string& path() const noexcept { return path_; }

    bool empty() const noexcept { return list_.empty(); }
    std::size_t size() const noexcept { return list_.size(); }
    const std::vector<RotationRecord>& list() const noexcept { return list_; }

    // A report the backend did not answer. Persisted before it returns (throws sdk::Error with the
    // path when it cannot be). Returns an error text when the oldest was dropped to make room.
    std::string add(const RotationRecord& r);

    // The oldest report, now out with `token`; nullopt if none or one is already out.
    std::optional<RotationRecord> send_next(const std::string& token);
    bool in_flight() const noexcept { return !token_.empty(); }
    // No answer in time: the report stays and may be sent again.
    void timed_out() noexcept { token_.clear(); }
    // A reply on .../rotated/accepted|rejected; persists the removal of a confirmed report (a
    // failure to persist throws, and the report is simply sent again later).
    Answer on_reply(const std::string& token, bool accepted, const std::string& payload);
    // The report the last reply was about (valid after on_reply returned confirmed or retry).
    const RotationRecord& answered() const noexcept { return answered_; }

private:
    void save() const;

    std::string path_;
    std::vector<RotationRecord> list_;  // oldest first
    std::string token_;                 // of the report out, "" when none
    RotationRecord answered_;
};

}  // namespace iotgw::plugins::fleet_provisioning
