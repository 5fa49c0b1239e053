// Who owns each persistent session, kept in the data directory so that the plugin can still apply
// iot:Receive to a session mosquitto restores from its persistence file after a restart.
//
// mosquitto restores offline sessions (their subscriptions and queued QoS 1 messages) by itself,
// but a restarted plugin has never seen those clients connect: without knowing the certificate
// (or console token) behind a session it can only refuse every delivery, and the messages
// published while the client is away are lost. A record names the principal; the policies and the
// certificate's status are always taken from the registry as they are now.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>

namespace localcore::broker {

struct SessionRecord {
    std::string client_id;
    std::string certificate_id;                              // empty for a console token
    std::map<std::string, std::string> certificate_subject;  // for iot:Certificate.Subject.* variables
    std::string token_id;                                    // "console-token/<jti>" for a console token
    std::string token_policy;
    std::int64_t token_expires_at = 0;  // epoch seconds
    bool operator==(const SessionRecord&) const = default;
};

// One file per client id, DIR/sessions/<sha256 of the client id>.json (mode 0600): a lookup is one
// file read, however many sessions there are, and client ids need no escaping.
class SessionRecords {
public:
    explicit SessionRecords(const std::filesystem::path& data_dir);

    // Stores the record atomically (atomic_file.hpp). A reconnect with the same principal, the
    // usual case, finds the same record and writes nothing.
    void save(const SessionRecord& record);
    // nullopt when there is none; throws localcore::Error naming the file when it is damaged.
    std::optional<SessionRecord> find(const std::string& client_id) const;
    // The session ended (a clean session, expiry, a dead certificate or token).
    void remove(const std::string& client_id);

    std::filesystem::path path_for(const std::string& client_id) const;

private:
    std::filesystem::path dir_;
};

}  // namespace localcore::broker
