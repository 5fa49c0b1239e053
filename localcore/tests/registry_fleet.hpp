// A registry the size of a fleet, without issuing thousands of certificates: N things AMR-00000...,
// each with its own ACTIVE certificate (a synthetic id, as the registry stores the SHA-256 of the
// DER) attached to it and to the `device` policy of cloud/policies/. Shared by
// registry_index_test.cpp and tests/bench/bench_localcore_auth.cpp.
#pragma once

#include <cstdio>
#include <string>

#include "atomic_file.hpp"
#include "registry.hpp"

namespace localcore::test {

inline std::string fleet_thing(std::size_t i) {
    char name[32];
    std::snprintf(name, sizeof name, "AMR-%05zu", i);
    return name;
}

// 64 lowercase hex characters, distinct for every i.
inline std::string fleet_certificate_id(std::size_t i) {
    char id[65];
    // Multiplying by an odd constant is a bijection on 64 bits: distinct and spread out.
    const unsigned long long spread = static_cast<unsigned long long>(i) * 0x9e3779b97f4a7c15ULL;
    std::snprintf(id, sizeof id, "%016llx%048x", spread, 0xc0ffeeU);
    return id;
}

inline RegistryData fleet_registry(std::size_t things) {
    RegistryData data;
    data.policies["device"] =
        PolicyRecord{"device", read_file(std::string(LOCALCORE_POLICY_DIR) + "/device.json")};
    for (std::size_t i = 0; i < things; ++i) {
        const std::string name = fleet_thing(i);
        data.things[name] = Thing{name, {{"site", "plant-1"}}};
        Certificate c;
        c.id = fleet_certificate_id(i);
        // About the size of a real device certificate, so that parsing costs what it does.
        c.pem = "-----BEGIN CERTIFICATE-----\n" + std::string(600, 'A') + "\n-----END CERTIFICATE-----\n";
        c.status = CertStatus::Active;
        c.created = 1'760'000'000;
        c.not_after = 1'790'000'000;
        c.subject_cn = name;
        c.things = {name};
        c.policies = {"device"};
        data.certificates[c.id] = std::move(c);
    }
    return data;
}

}  // namespace localcore::test
