// The fixture of the `jobs` processor's end-to-end tests: localcore (LocalCoreTest) and the real
// `iotgw` binary with the `jobs` processor, the `health` handler and the fixture handler
// `fixture_slow_job` (operation "slow", one step a second, declaring a 2 s step time), its journal
// kept across restarts of the gateway.
#pragma once

#include "config_text.hpp"
#include "gateway_process.hpp"
#include "localcore_fixture.hpp"

#include <gtest/gtest.h>

#include <chrono>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

namespace localcore::conformance {

class JobsLocalCore : public LocalCoreTest {
protected:
    void TearDown() override {
        if (::testing::Test::HasFailure() && gw_) std::cerr << "--- gateway log:\n" << gw_->log() << "\n";
    }

    std::string config() {
        if (journal_.empty()) journal_ = lc->fresh_path("journal") += ".json";  // kept across restarts
        return iotgw::test::ConfigText()
            .raw("log_level = \"debug\"\nstop_timeout = \"2s\"")
            .device_link(lc->amr1.cert, lc->amr1.key, lc->ca(), lc->port(), "mqtt_version = \"5\"")
            .raw("[job_handlers.health]\ntype = \"health\"\ncredentials = \"device\"")
            // The fixture handler of the operation "slow": one step a second, resumable.
            .raw("[job_handlers.slow]\ntype = \"fixture_slow_job\"\nstep = \"2s\"")
            .jobs("handlers = [\"health\", \"slow\"]\njournal = \"" + journal_.string() +
                  "\"\nretry = \"2s\"")
            .text();
    }

    void start_gateway() {
        gw_ = iotgw::test::start_gateway_process(
            config(), lc->fresh_path("gateway") += ".toml", lc->fresh_path("gateway") += ".log",
            {"--plugin-dir", std::string(IOTGW_FIXTURE_PLUGIN_DIR) + "/jobs"});
        ASSERT_TRUE(gw_->wait_for(iotgw::test::jobs_ready_line(), 15s)) << gw_->log();
    }

    void create_job(const std::string& id, const std::string& document) {
        lc->create_job("AMR-001", id, document);
    }
    std::optional<std::string> wait_status(const std::string& id, const std::string& status,
                                           std::chrono::seconds limit = 20s) {
        return lc->wait_job_status("AMR-001", id, status, limit);
    }

    std::unique_ptr<ChildProcess> gw_;
    fs::path journal_;
};

}  // namespace localcore::conformance
