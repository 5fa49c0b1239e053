// How long a message takes from the broker to the application in three MQTT clients, on the same
// TLS broker and the same messages: paho.mqtt.cpp's async_client (the gateway's transport today),
// paho.mqtt.c's synchronous MQTTClient with its callback thread, and libmosquitto driven from an
// Asio loop (mosquitto_socket() watched by the loop, mosquitto_loop_read/write/misc called from
// it; connected with the blocking mosquitto_connect, as libmosquitto cannot finish a TLS connect
// from an external loop: docs/scaling.md).
//
// Why: the gateway's call -> status p99 is ~90 ms against a 50 ms target (issue "A fleet on one
// machine", docs/scaling.md), and the cause is paho C's receive thread, which sleeps 100 ms after
// every read poll that times out. Messages come at random gaps (default 0.2-2.2 s), as calls do,
// so an idle-loop delay shows up in the tail. Figures only; nothing here asserts on timing.
//
// Usage: mqtt_client_latency [--messages N] [--min-gap-ms A] [--max-gap-ms B] [--seed S]
#include "mosquitto_broker.hpp"
#include "test_mqtt_client.hpp"
#include "test_support.hpp"

#include <MQTTClient.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <mqtt/async_client.h>
#include <openssl/ssl.h>
#include <sys/ioctl.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/posix/stream_descriptor.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <optional>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;
namespace net = boost::asio;

const std::string kTopic = "amr/AMR-001/cmd/call";

// When each message arrived, by its sequence number (the payload).
class Arrivals {
public:
    explicit Arrivals(size_t n) : at_(n) {}
    void record(const std::string& payload) {
        const auto now = Clock::now();
        const size_t seq = std::stoul(payload);
        std::lock_guard lock(mutex_);
        if (seq < at_.size() && !at_[seq]) at_[seq] = now;
    }
    std::optional<Clock::time_point> at(size_t seq) const {
        std::lock_guard lock(mutex_);
        return at_[seq];
    }

private:
    mutable std::mutex mutex_;
    std::vector<std::optional<Clock::time_point>> at_;
};

// paho.mqtt.cpp's async_client, configured as the gateway's mqtt transport configures it (TLS,
// a client certificate, MQTT 3.1.1, QoS 1).
class PahoSubscriber : public mqtt::callback {
public:
    PahoSubscriber(const iotgw::test::MosquittoBroker& broker, const iotgw::test::DevPki::Device& device,
                   Arrivals& arrivals)
        : arrivals_(arrivals),
          client_(iotgw::test::make_paho_client("ssl://localhost:" + std::to_string(broker.port()),
                                                "latency-paho", MQTTVERSION_3_1_1)) {
        client_->set_callback(*this);
        auto ssl = mqtt::ssl_options_builder()
                       .trust_store(broker.ca().string())
                       .key_store(device.cert.string())
                       .private_key(device.key.string())
                       .finalize();
        auto opts =
            mqtt::connect_options_builder().ssl(ssl).clean_session(true).keep_alive_interval(60s).finalize();
        client_->connect(opts)->wait();
        client_->subscribe(kTopic, 1)->wait();
    }
    ~PahoSubscriber() override {
        try {
            client_->disconnect()->wait_for(2s);
        } catch (const std::exception&) {  // the figures are printed already
        }
    }
    void message_arrived(mqtt::const_message_ptr msg) override { arrivals_.record(msg->get_payload_str()); }

private:
    Arrivals& arrivals_;
    std::unique_ptr<mqtt::async_client> client_;
};

// paho.mqtt.c's synchronous client (libpaho-mqtt3cs) with callbacks: its own thread receives
// (MQTTClient_cycle, without the async library's sleep after an idle poll) and calls back.
class PahoSyncSubscriber {
public:
    PahoSyncSubscriber(const iotgw::test::MosquittoBroker& broker, const iotgw::test::DevPki::Device& device,
                       Arrivals& arrivals)
        : arrivals_(arrivals) {
        const std::string uri = "ssl://localhost:" + std::to_string(broker.port());
        check(MQTTClient_create(&client_, uri.c_str(), "latency-paho-sync", MQTTCLIENT_PERSISTENCE_NONE,
                                nullptr),
              "MQTTClient_create");
        check(MQTTClient_setCallbacks(client_, this, nullptr, &PahoSyncSubscriber::arrived, nullptr),
              "MQTTClient_setCallbacks");
        // paho copies the options in MQTTClient_connect: the strings need only outlive the call.
        const std::string ca = broker.ca().string(), cert = device.cert.string(), key = device.key.string();
        MQTTClient_SSLOptions ssl = MQTTClient_SSLOptions_initializer;
        ssl.trustStore = ca.c_str();
        ssl.keyStore = cert.c_str();
        ssl.privateKey = key.c_str();
        MQTTClient_connectOptions opts = MQTTClient_connectOptions_initializer;
        opts.ssl = &ssl;
        opts.keepAliveInterval = 60;
        opts.cleansession = 1;
        check(MQTTClient_connect(client_, &opts), "MQTTClient_connect");
        check(MQTTClient_subscribe(client_, kTopic.c_str(), 1), "MQTTClient_subscribe");
    }
    ~PahoSyncSubscriber() {
        MQTTClient_disconnect(client_, 1000);
        MQTTClient_destroy(&client_);
    }
    PahoSyncSubscriber(const PahoSyncSubscriber&) = delete;
    PahoSyncSubscriber& operator=(const PahoSyncSubscriber&) = delete;

private:
    static void check(int rc, const char* what) {
        if (rc != MQTTCLIENT_SUCCESS)
            throw std::runtime_error(std::string(what) + ": " + MQTTClient_strerror(rc));
    }
    static int arrived(void* context, char* topic, int, MQTTClient_message* msg) {
        auto* self = static_cast<PahoSyncSubscriber*>(context);
        self->arrivals_.record(
            std::string(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen)));
        MQTTClient_freeMessage(&msg);
        MQTTClient_free(topic);
        return 1;  // taken
    }

    Arrivals& arrivals_;
    MQTTClient client_ = nullptr;
};

// libmosquitto on an Asio loop of its own thread: the loop waits for the socket to be readable
// (or writable while libmosquitto has something queued) and calls libmosquitto's read, write and
// housekeeping steps; libmosquitto never sleeps in a thread of its own.
class MosquittoSubscriber {
public:
    MosquittoSubscriber(const iotgw::test::MosquittoBroker& broker, const iotgw::test::DevPki::Device& device,
                        Arrivals& arrivals)
        : arrivals_(arrivals), socket_(io_), misc_(io_) {
        mosq_ = mosquitto_new("latency-mosquitto", true, this);
        if (!mosq_) throw std::runtime_error("mosquitto_new failed");
        mosquitto_connect_callback_set(mosq_, [](mosquitto* m, void*, int rc) {
            if (rc == 0) mosquitto_subscribe(m, nullptr, kTopic.c_str(), 1);
        });
        mosquitto_subscribe_callback_set(mosq_, [](mosquitto*, void* self, int, int, const int*) {
            static_cast<MosquittoSubscriber*>(self)->subscribed_ = true;
        });
        mosquitto_message_callback_set(mosq_, [](mosquitto*, void* self, const mosquitto_message* msg) {
            static_cast<MosquittoSubscriber*>(self)->arrivals_.record(
                std::string(static_cast<const char*>(msg->payload), static_cast<size_t>(msg->payloadlen)));
        });
        check(mosquitto_tls_set(mosq_, broker.ca().c_str(), nullptr, device.cert.c_str(), device.key.c_str(),
                                nullptr),
              "mosquitto_tls_set");
        check(mosquitto_connect(mosq_, "localhost", broker.port(), 60), "mosquitto_connect");
        const int fd = mosquitto_socket(mosq_);
        ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);  // the loop never blocks in a read
        socket_.assign(fd);
        watch_read();
        want_write();
        housekeeping();
        thread_ = std::thread([this] { io_.run(); });
        for (int i = 0; i < 100 && !subscribed_; ++i) std::this_thread::sleep_for(50ms);
        if (!subscribed_) throw std::runtime_error("libmosquitto: no SUBACK in 5 s");
    }
    ~MosquittoSubscriber() {
        net::post(io_, [this] {
            misc_.cancel();
            socket_.cancel();
            mosquitto_disconnect(mosq_);
            mosquitto_loop_write(mosq_, 1);
            socket_.release();  // libmosquitto owns the descriptor
        });
        thread_.join();
        mosquitto_destroy(mosq_);
    }

private:
    static void check(int rc, const char* what) {
        if (rc != MOSQ_ERR_SUCCESS)
            throw std::runtime_error(std::string(what) + ": " + mosquitto_strerror(rc));
    }
    // Everything the socket and TLS hold is read: Asio's epoll is edge-triggered, so bytes left
    // behind would not wake the loop again.
    bool more_to_read() {
        int queued = 0;
        if (::ioctl(mosquitto_socket(mosq_), FIONREAD, &queued) == 0 && queued > 0) return true;
        auto* tls = static_cast<SSL*>(mosquitto_ssl_get(mosq_));
        return tls && SSL_pending(tls) > 0;
    }
    void watch_read() {
        socket_.async_wait(net::posix::stream_descriptor::wait_read, [this](boost::system::error_code ec) {
            if (ec) return;
            int rc = MOSQ_ERR_SUCCESS;
            do rc = mosquitto_loop_read(mosq_, 1);
            while (rc == MOSQ_ERR_SUCCESS && more_to_read());
            if (rc != MOSQ_ERR_SUCCESS) {
                std::cerr << "libmosquitto: " << mosquitto_strerror(rc) << "\n";
                return;
            }
            want_write();  // the PUBACKs
            watch_read();
        });
    }
    void want_write() {
        if (writing_ || !mosquitto_want_write(mosq_)) return;
        writing_ = true;
        socket_.async_wait(net::posix::stream_descriptor::wait_write, [this](boost::system::error_code ec) {
            writing_ = false;
            if (ec) return;
            mosquitto_loop_write(mosq_, 1);
            want_write();
        });
    }
    void housekeeping() {  // keep-alive pings
        misc_.expires_after(1s);
        misc_.async_wait([this](boost::system::error_code ec) {
            if (ec) return;
            mosquitto_loop_misc(mosq_);
            want_write();
            housekeeping();
        });
    }

    Arrivals& arrivals_;
    net::io_context io_;
    net::posix::stream_descriptor socket_;
    net::steady_timer misc_;
    mosquitto* mosq_ = nullptr;
    bool writing_ = false;
    std::atomic<bool> subscribed_{false};
    std::thread thread_;
};

struct Figures {
    size_t received = 0;
    double p50 = 0, p90 = 0, p99 = 0, max = 0;
    size_t over_10ms = 0;
};

Figures figures(const std::vector<Clock::time_point>& sent, const Arrivals& arrivals) {
    std::vector<double> ms;
    for (size_t i = 0; i < sent.size(); ++i)
        if (const auto at = arrivals.at(i))
            ms.push_back(std::chrono::duration<double, std::milli>(*at - sent[i]).count());
    Figures f;
    f.received = ms.size();
    if (ms.empty()) return f;
    std::sort(ms.begin(), ms.end());
    // Nearest rank: the smallest value with at least q of the samples at or below it.
    const auto rank = [&ms](double q) {
        const auto k = static_cast<size_t>(std::ceil(q * static_cast<double>(ms.size())));
        return ms[std::clamp<size_t>(k, 1, ms.size()) - 1];
    };
    f.p50 = rank(0.50);
    f.p90 = rank(0.90);
    f.p99 = rank(0.99);
    f.max = ms.back();
    f.over_10ms = static_cast<size_t>(std::count_if(ms.begin(), ms.end(), [](double v) { return v > 10.0; }));
    return f;
}

long arg_value(int& i, int argc, char** argv) {
    if (i + 1 >= argc) throw std::invalid_argument(std::string(argv[i]) + " needs a value");
    char* end = nullptr;
    const long v = std::strtol(argv[++i], &end, 10);
    if (*end != '\0' || v < 0)
        throw std::invalid_argument(std::string(argv[i - 1]) + ": not a number: " + argv[i]);
    return v;
}

}  // namespace

int main(int argc, char** argv) {
    long messages = 60, min_gap = 200, max_gap = 2200, seed = 1;
    try {
        for (int i = 1; i < argc; ++i) {
            const std::string a = argv[i];
            if (a == "--messages")
                messages = arg_value(i, argc, argv);
            else if (a == "--min-gap-ms")
                min_gap = arg_value(i, argc, argv);
            else if (a == "--max-gap-ms")
                max_gap = arg_value(i, argc, argv);
            else if (a == "--seed")
                seed = arg_value(i, argc, argv);
            else
                throw std::invalid_argument("unknown argument " + a);
        }
        if (messages < 1 || messages > 100'000) throw std::invalid_argument("--messages: 1 to 100000");
        if (max_gap < min_gap || max_gap > 60'000)
            throw std::invalid_argument("--max-gap-ms: min-gap-ms to 60000");
    } catch (const std::exception& e) {
        std::cerr
            << "mqtt_client_latency: " << e.what()
            << "\nusage: mqtt_client_latency [--messages N] [--min-gap-ms A] [--max-gap-ms B] [--seed S]\n";
        return 2;
    }

    mosquitto_lib_init();
    int status = 0;
    try {
        iotgw::test::TempDir dir;
        iotgw::test::DevPki pki(dir.path() / "pki");
        const auto device = pki.device("AMR-001");
        iotgw::test::MosquittoBroker broker(pki);
        const auto n = static_cast<size_t>(messages);
        Arrivals by_paho(n), by_paho_sync(n), by_mosquitto(n);
        std::vector<Clock::time_point> sent(n);
        {
            PahoSubscriber paho(broker, device, by_paho);
            PahoSyncSubscriber paho_sync(broker, device, by_paho_sync);
            MosquittoSubscriber mosq(broker, device, by_mosquitto);
            iotgw::test::TestMqttClient publisher(broker, device, "latency-publisher");
            if (!publisher.connect()) throw std::runtime_error("publisher: " + publisher.last_error());
            std::mt19937 rng(static_cast<unsigned>(seed));
            std::uniform_int_distribution<long> gap(min_gap, max_gap);
            std::cout << "mqtt_client_latency: " << n << " QoS 1 messages over TLS on loopback, " << min_gap
                      << "-" << max_gap << " ms apart (about "
                      << (n * static_cast<size_t>(min_gap + max_gap) / 2 / 1000) << " s)\n"
                      << std::flush;
            for (size_t i = 0; i < n; ++i) {
                std::this_thread::sleep_for(std::chrono::milliseconds(gap(rng)));
                sent[i] = Clock::now();
                publisher.publish(kTopic, std::to_string(i), 1);
            }
            std::this_thread::sleep_for(1500ms);  // the last one reaches even a sleeping loop
        }
        std::printf("%-34s %8s %8s %8s %8s %8s %9s\n", "client (broker -> application)", "received", "p50 ms",
                    "p90 ms", "p99 ms", "max ms", "> 10 ms");
        const auto row = [&](const char* name, const Figures& f) {
            std::printf("%-34s %4zu/%-3zu %8.2f %8.2f %8.2f %8.2f %9zu\n", name, f.received, n, f.p50, f.p90,
                        f.p99, f.max, f.over_10ms);
            if (f.received != n) status = 1;
        };
        row("paho.mqtt.cpp async_client", figures(sent, by_paho));
        row("paho.mqtt.c MQTTClient (sync)", figures(sent, by_paho_sync));
        row("libmosquitto on an Asio loop", figures(sent, by_mosquitto));
        if (status) std::cerr << "mqtt_client_latency: a client missed messages\n";
    } catch (const std::exception& e) {
        std::cerr << "mqtt_client_latency: " << e.what() << "\n";
        status = 1;
    }
    mosquitto_lib_cleanup();
    return status;
}
