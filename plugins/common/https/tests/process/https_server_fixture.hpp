// The loopback HTTPS server of the download and upload tests (https_test_server.py with the
// development PKI), started per test in a fresh directory: `www` is what it serves and where a
// PUT lands, `content` 300,000 random bytes served as /package.deb.
#pragma once

#include "child_process.hpp"
#include "mosquitto_broker.hpp"
#include "test_support.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <memory>
#include <random>
#include <regex>
#include <string>

namespace iotgw::plugins::https {

class HttpsServerTest : public ::testing::Test {
protected:
    void SetUp() override {
        std::filesystem::create_directories(dir.path() / "www");
        std::mt19937 random(7);
        content.resize(300'000);
        for (char& c : content) c = static_cast<char>(random() & 0xff);
        std::ofstream(dir.path() / "www" / "package.deb", std::ios::binary) << content;
        start_server("127.0.0.1");
    }

    void start_server(const std::string& host) {
        using namespace std::chrono_literals;
        server = std::make_unique<test::ChildProcess>(
            std::vector<std::string>{"/usr/bin/python3", HTTPS_TEST_SERVER, "--dir",
                                     (dir.path() / "www").string(), "--cert", pki.server_cert.string(),
                                     "--key", pki.server_key.string(), "--host", host},
            dir.path() / ("server-" + host + ".log"));
        ASSERT_TRUE(server->wait_for("port ", 10s)) << server->log();
        std::smatch m;
        const std::string log = server->log();
        ASSERT_TRUE(std::regex_search(log, m, std::regex("port (\\d+)"))) << log;
        base = "https://" + host + ":" + m[1].str();
    }

    test::TempDir dir;
    test::DevPki pki{dir.path() / "pki"};
    std::string content;
    std::unique_ptr<test::ChildProcess> server;
    std::string base;
    std::atomic<bool> cancelled{false};
};

}  // namespace iotgw::plugins::https
