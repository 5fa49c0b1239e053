// The job document of the operation "package" (docs/remote-jobs.md):
//   {"operation":"package","url":"https://...","version":"1.4.0","size":5242880,
//    "sha256":"<64 hex digits>","signature":"<base64 DER ECDSA P-256 / SHA-256 signature>",
//    "confirm_timeout":600}   (optional: seconds the new version has to confirm, 30 to 3600)
// In AWS the URL is a presigned-URL placeholder for the S3 object; AWS replaces it each time it
// delivers the document. Read by the `package` job handler and by `iotgw update verify`, so an
// operator checks the very document a job will carry before making the job.
#pragma once

#include <iotgw/core/package_signature.hpp>

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>

namespace iotgw::core::update {

// How long a new version has to start, connect and confirm before the kept one goes back on.
inline constexpr int64_t kDefaultConfirmSeconds = 600;
inline constexpr int64_t kMinConfirmSeconds = 30;
inline constexpr int64_t kMaxConfirmSeconds = 3600;

struct PackageDocument {
    std::string url;
    std::string version;  // the package's Debian version, what the gateway reports after it
    PackageClaim claim;   // size, SHA-256 (lower case), signature
    int64_t confirm_seconds = kDefaultConfirmSeconds;
};

struct PackageDocumentProblem {
    std::string reason;  // "invalid_document"
    std::string message;
};

// The largest package taken at all (a gateway .deb is a few MB; the field is checked again
// against the handler's own limit and the free disk space).
inline constexpr uint64_t kMaxPackageBytes = 512ull * 1024 * 1024;

std::variant<PackageDocument, PackageDocumentProblem> parse_package_document(std::string_view json);

}  // namespace iotgw::core::update
